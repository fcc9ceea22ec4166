"""GET /api/notices/{id}: what staff see about one notice — the words as sent, each step of its delivery
with the provider's answers, where it stands in plain words, and why it exists.

Texts go out through the real twilio client to the local fake Twilio, and its callbacks are signed as
Twilio signs them; emails are files (the file channel).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from support import builders
from support.fake_twilio import FakeTwilio
from support.pipeline import drain, notices, post
from support.stories import carrier_exception
from support.twilio_callbacks import post_signed, status_callback, with_twilio

from engine.brakes.pause import set_paused
from engine.clock import SimulatedClock
from engine.config import Settings
from engine.delivery.channel import InboundText
from engine.delivery.provider_status import receive_text
from engine.models import AuditEntry, Notice
from engine.runtime import Runtime

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
def settings(settings: Settings, fake_twilio: FakeTwilio) -> Settings:
    return with_twilio(settings, fake_twilio)


def exception_story(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    """Ana's lamp hits an address problem at 13:00 in New York: she is told by email and by text."""
    carrier_exception(client, rt, clock)


def page(client: TestClient, notice: Notice, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/notices/{notice.id}", headers=AUTH, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def only(rt: Runtime, channel: str) -> Notice:
    [found] = [n for n in notices(rt) if n.channel == channel]
    return found


def test_a_sent_email_shows_its_words_its_delivery_and_why_it_was_sent(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    exception_story(client, rt, clock)
    email = only(rt, "email")

    got = page(client, email)

    assert got["notice"]["id"] == email.id and got["template_version_id"] == email.template_version_id is not None
    assert got["notice"]["recipient"] == "a***@example.com"  # masked unless asked for
    assert got["parts"]["subject"] == email.subject and "desk lamp" in got["parts"]["text"]
    assert got["parts"]["html"] == email.html
    assert got["outcome"]["state"] == "sent" and got["outcome"]["reason"] == "sent"
    kinds = [m["kind"] for m in got["timeline"]]
    assert kinds[0] == "planned" and kinds[-2:] == ["claimed", "attempt"]
    attempt = got["timeline"][-1]
    assert attempt["details"]["provider_id"] == email.provider_id and attempt["details"]["outcome"] == "sent"
    assert attempt["audit_seq"] is not None  # the entry the record step wrote beside it
    why = got["why"]
    assert why["situation"]["kind"] == "shipment.exception" and why["situation"]["order_id"] == "A1001"
    assert why["rule"]["name"] == "carrier trouble"
    assert why["reason"] and [m["kind"] for m in why["story"]] == ["opened"]
    shipment_facts = [e["facts"] for e in why["events"] if e["type"] == "shipment.updated"]
    assert shipment_facts[-1]["status"] == "exception" and shipment_facts[-1]["exception"] == "address"
    assert all("email" not in e["facts"] for e in why["events"])  # no contact details from the payloads


def test_a_text_shows_each_attempt_with_twilios_answer_and_its_callbacks(
    client: TestClient, rt: Runtime, clock: SimulatedClock, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.rate_limit_next(retry_after=60)
    exception_story(client, rt, clock)
    assert only(rt, "sms").status == "pending"
    clock.advance(timedelta(minutes=5))
    drain(rt)
    text = only(rt, "sms")
    assert text.status == "sent" and text.provider_id
    post_signed(client, rt.settings, "/webhooks/twilio/status", status_callback(text.provider_id, "delivered"))

    got = page(client, text)

    attempts = [m for m in got["timeline"] if m["kind"] == "attempt"]
    assert [a["details"]["outcome"] for a in attempts] == ["transient", "sent"]
    assert "Too Many Requests" in attempts[0]["details"]["answer"] and attempts[0]["details"]["retry_at"]
    assert "trying again at" in attempts[0]["summary"]
    assert attempts[1]["details"]["provider_id"] == text.provider_id
    assert [m["kind"] for m in got["timeline"]].count("claimed") == 2
    callback = got["timeline"][-1]
    assert (callback["kind"], callback["actor"]) == ("delivered", "twilio")
    assert got["outcome"]["reason"] == "delivered" and "reports it delivered" in got["outcome"]["words"]
    assert got["parts"]["sms"] == text.body and got["parts"]["encoding"] == "GSM-7" and got["parts"]["segments"] >= 1


def test_a_text_held_for_quiet_hours_then_fixed_before_it_went(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    clock.advance(timedelta(hours=9))  # 22:00 in New York
    exception_story(client, rt, clock)
    text = only(rt, "sms")

    held = page(client, text)
    assert held["outcome"]["reason"] == "quiet_hours" and "quiet hours" in held["outcome"]["words"]
    assert [m["kind"] for m in held["timeline"]] == ["held_quiet_hours"]

    post(client, clock, builders.shipment(clock.now(), "delivered"))
    drain(rt)

    fixed = page(client, text)
    assert fixed["outcome"]["state"] == "not_sent" and fixed["outcome"]["reason"] == "fixed"
    assert "fixed before it went" in fixed["outcome"]["words"]
    assert fixed["timeline"][-1]["kind"] == "dropped"


def test_a_notice_waiting_while_sending_is_paused_says_who_paused_it(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    with rt.unit_of_work() as session:
        set_paused(session, True, "staff:ops@example.com", at=clock.now(), reason="bad feed")
    exception_story(client, rt, clock)

    got = page(client, only(rt, "email"))

    assert got["outcome"]["reason"] == "paused"
    assert "staff:ops@example.com" in got["outcome"]["words"] and "bad feed" in got["outcome"]["words"]


def test_merged_news_points_to_the_message_that_carried_it(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    rt.settings.max_notices_per_day = 1
    t = clock.now()
    post(
        client,
        clock,
        builders.customer_upserted(t - timedelta(days=3), channels=["email"]),
        *(builders.order_created(t - timedelta(days=2), order_id=o) for o in ("A1", "A2", "A3")),
    )
    for order in ("A1", "A2", "A3"):
        post(client, clock, builders.shipment(clock.now(), "exception", order_id=order, exception="weather"))
        drain(rt)
        clock.advance(timedelta(hours=1))
    held = [n for n in notices(rt) if n.order_id in ("A2", "A3")]
    assert page(client, held[0])["outcome"]["reason"] == "daily_limit"

    clock.advance(timedelta(hours=24))
    drain(rt)

    merged = page(client, held[0])
    carrier_id = merged["outcome"]["merged_into"]
    assert merged["outcome"]["reason"] == "merged" and f"notice {carrier_id}" in merged["outcome"]["words"]
    assert [m["kind"] for m in merged["timeline"]][-1] == "merged"
    carrier = client.get(f"/api/notices/{carrier_id}", headers=AUTH).json()
    assert carrier["merged_from"] == [n.id for n in held]
    assert [m["kind"] for m in carrier["timeline"]].count("merged_in") == 2
    assert carrier["why"]["rule"]["name"] == "daily limit"


def test_revealing_the_address_is_audited_with_who_and_where(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    exception_story(client, rt, clock)
    text = only(rt, "sms")
    assert page(client, text)["notice"]["recipient"] == "+55******4321"

    assert page(client, text, reveal=1)["notice"]["recipient"] == "+5511987654321"

    with Session(rt.db) as session:
        [entry] = session.exec(select(AuditEntry).where(col(AuditEntry.action) == "contact.revealed")).all()
    assert (entry.actor, entry.subject) == ("staff:api", f"notice:{text.id}")
    assert entry.details == {"page": "notice", "address": "testclient"}


def test_a_stop_after_a_text_shows_on_that_text_only(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    exception_story(client, rt, clock)
    clock.advance(timedelta(minutes=10))
    with rt.unit_of_work() as session:
        receive_text(session, InboundText(sender="+5511987654321", body="STOP"), at=clock.now())

    text = page(client, only(rt, "sms"))["timeline"]
    assert (text[-1]["kind"], text[-1]["actor"]) == ("opted_out", "customer") and "replied STOP" in text[-1]["summary"]
    assert "opted_out" not in [m["kind"] for m in page(client, only(rt, "email"))["timeline"]]


def test_an_unknown_notice_is_404_and_the_token_is_required(client: TestClient) -> None:
    assert client.get("/api/notices/999", headers=AUTH).status_code == 404
    assert client.get("/api/notices/999").status_code == 401
