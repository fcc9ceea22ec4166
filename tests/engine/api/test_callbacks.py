"""Twilio's callbacks: delivery statuses for texts we sent, and what customers text back.

Texts go out through the real twilio client to the local fake Twilio; callbacks are signed with
twilio's own RequestValidator, exactly as Twilio signs them.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from support import builders
from support.fake_twilio import FakeTwilio
from support.pipeline import drain, notices, post, route_skipped
from support.twilio_callbacks import inbound_text, post_signed, status_callback, with_twilio

from engine.clock import SimulatedClock
from engine.config import Settings
from engine.models import AuditEntry, AuditPersonal, Notice
from engine.runtime import Runtime
from integrations.channels import build_callbacks

STATUS = "/webhooks/twilio/status"
INBOUND = "/webhooks/twilio/inbound"
PHONE = "+5511987654321"  # the builders' default customer phone


@pytest.fixture
def settings(settings: Settings, fake_twilio: FakeTwilio) -> Settings:
    return with_twilio(settings, fake_twilio)


def audit_entries(rt: Runtime, action: str | None = None) -> list[AuditEntry]:
    with Session(rt.db) as session:
        statement = select(AuditEntry).order_by(col(AuditEntry.seq))
        if action:
            statement = statement.where(AuditEntry.action == action)
        return list(session.exec(statement).all())


def warn_by_text(client: TestClient, rt: Runtime, clock: SimulatedClock, **fields: object) -> Notice:
    """A carrier exception for a customer who said yes to email and SMS: the text goes to Twilio."""
    t = clock.now()
    post(
        client,
        clock,
        builders.customer_upserted(t - timedelta(days=3), **fields),
        builders.order_created(t - timedelta(days=2)),
        builders.shipment(t - timedelta(days=1), "in_transit"),
        builders.shipment(t, "exception", exception="weather"),
    )
    drain(rt)
    [text] = [n for n in notices(rt) if n.channel == "sms"]
    assert text.status == "sent" and text.provider_id is not None and text.provider_id.startswith("SM")
    return text


def test_texts_ask_twilio_to_call_back_at_the_public_url(
    client: TestClient, rt: Runtime, clock: SimulatedClock, fake_twilio: FakeTwilio
) -> None:
    warn_by_text(client, rt, clock)

    [request] = fake_twilio.requests
    assert request.form["StatusCallback"] == "https://notify.example.com/webhooks/twilio/status"


def test_status_callbacks_move_a_text_forward_to_delivered(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    text = warn_by_text(client, rt, clock)
    assert text.provider_id is not None

    for status in ("sent", "delivered"):
        response = post_signed(client, rt.settings, STATUS, status_callback(text.provider_id, status))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/xml")

    [after] = [n for n in notices(rt) if n.id == text.id]
    assert (after.status, after.status_reason) == ("sent", "provider: delivered")
    [entry] = audit_entries(rt, "notice.delivered")
    assert entry.subject == f"notice:{text.id}" and entry.actor == "twilio"
    assert [e.details["provider_status"] for e in audit_entries(rt, "notice.provider_status")] == ["sent"]


def test_late_or_repeated_statuses_never_move_a_text_backwards(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    text = warn_by_text(client, rt, clock)
    assert text.provider_id is not None
    sid = text.provider_id

    post_signed(client, rt.settings, STATUS, status_callback(sid, "sent"))
    post_signed(client, rt.settings, STATUS, status_callback(sid, "queued"))  # late
    [after] = [n for n in notices(rt) if n.id == text.id]
    assert after.status_reason == "provider: sent"

    post_signed(client, rt.settings, STATUS, status_callback(sid, "delivered"))
    before = len(audit_entries(rt))
    for late in ("sent", "delivered", "undelivered"):
        assert post_signed(client, rt.settings, STATUS, status_callback(sid, late, "30003")).status_code == 200
    [after] = [n for n in notices(rt) if n.id == text.id]
    assert (after.status, after.status_reason) == ("sent", "provider: delivered")  # delivered is final
    assert len(audit_entries(rt)) == before


@pytest.mark.parametrize(
    "signature", [None, "", "bm90IHRoZSBzaWduYXR1cmU=", "signed-for-another-url", "signed-with-another-token"]
)
def test_a_bad_signature_is_403_and_changes_nothing(
    client: TestClient, rt: Runtime, clock: SimulatedClock, signature: str | None
) -> None:
    text = warn_by_text(client, rt, clock)
    assert text.provider_id is not None
    params = status_callback(text.provider_id, "undelivered", "30003")
    before = len(audit_entries(rt))

    if signature is None:
        response = client.post(STATUS, data=params)
    elif signature == "signed-for-another-url":
        other = rt.settings.model_copy(update={"public_url": "https://elsewhere.example.com"})
        response = post_signed(client, other, STATUS, params)
    elif signature == "signed-with-another-token":
        response = post_signed(client, rt.settings, STATUS, params, token="not-the-auth-token")
    else:
        response = post_signed(client, rt.settings, STATUS, params, signature=signature)

    assert response.status_code == 403
    assert [(n.status, n.status_reason) for n in notices(rt) if n.id == text.id] == [("sent", None)]
    assert len(audit_entries(rt)) == before


def test_a_tampered_field_breaks_the_signature(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    text = warn_by_text(client, rt, clock)
    assert text.provider_id is not None
    from twilio.request_validator import RequestValidator

    url = "https://notify.example.com" + STATUS
    signature = RequestValidator(rt.settings.twilio_auth_token).compute_signature(
        url, status_callback(text.provider_id, "delivered")
    )
    tampered = status_callback(text.provider_id, "undelivered", "30003")

    response = client.post(STATUS, data=tampered, headers={"X-Twilio-Signature": signature})

    assert response.status_code == 403
    assert [n.status for n in notices(rt) if n.id == text.id] == ["sent"]


def test_without_an_auth_token_every_callback_is_refused(client: TestClient, rt: Runtime) -> None:
    signed_with = rt.settings
    rt.settings = rt.settings.model_copy(update={"twilio_auth_token": ""})
    rt.callbacks = build_callbacks(rt.settings)  # as the process would be wired with that configuration
    before = len(audit_entries(rt))

    for path, params in (
        (STATUS, status_callback("SM" + "0" * 32, "delivered")),
        (INBOUND, inbound_text(PHONE, "STOP")),
    ):
        assert post_signed(client, signed_with, path, params).status_code == 403
        assert post_signed(client, rt.settings, path, params, token="").status_code == 403
    assert len(audit_entries(rt)) == before


def test_an_unknown_message_sid_is_acknowledged(client: TestClient, rt: Runtime) -> None:
    before = len(audit_entries(rt))

    response = post_signed(client, rt.settings, STATUS, status_callback("SM" + "0" * 32, "delivered"))

    assert response.status_code == 200
    assert len(audit_entries(rt)) == before


def test_undelivered_fails_the_notice_with_twilios_code(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    text = warn_by_text(client, rt, clock)
    assert text.provider_id is not None

    response = post_signed(client, rt.settings, STATUS, status_callback(text.provider_id, "undelivered", "30003"))

    assert response.status_code == 200
    [after] = [n for n in notices(rt) if n.id == text.id]
    assert (after.status, after.status_reason) == ("failed", "twilio 30003")
    [entry] = [e for e in audit_entries(rt, "notice.failed") if e.subject == f"notice:{text.id}"]
    assert entry.actor == "twilio"
    assert entry.details["provider_status"] == "undelivered" and entry.details["error_code"] == "30003"
    assert route_skipped(rt, "sms") is None  # an unreachable handset is not an opt-out
    # The customer had the email for this stage already: nothing more to send.
    assert audit_entries(rt, "notice.fallback") == []


def test_21610_fails_the_text_and_opts_the_number_out(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    text = warn_by_text(client, rt, clock)
    assert text.provider_id is not None

    post_signed(client, rt.settings, STATUS, status_callback(text.provider_id, "failed", "21610"))

    [after] = [n for n in notices(rt) if n.id == text.id]
    assert (after.status, after.status_reason) == ("failed", "twilio 21610")
    assert route_skipped(rt, "sms") == "number opted out of SMS (twilio 21610: the number replied STOP)"
    [entry] = audit_entries(rt, "customer.sms_opted_out")
    assert (entry.subject, entry.actor) == ("customer:C1", "twilio")

    # The next news about the order goes by email only.
    clock.advance(timedelta(hours=4))
    post(client, clock, builders.shipment(clock.now(), "lost"))
    drain(rt)
    assert [(n.stage, n.channel) for n in notices(rt)][2:] == [("update", "email")]


def test_stop_opts_out_and_start_opts_back_in(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    warn_by_text(client, rt, clock)

    response = post_signed(client, rt.settings, INBOUND, inbound_text(PHONE, "  stop \n"))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text.replace(" ", "").endswith("<Response/>")
    assert route_skipped(rt, "sms") == "number opted out of SMS (replied STOP)"
    [entry] = audit_entries(rt, "customer.sms_opted_out")
    assert (entry.subject, entry.actor, entry.details) == ("customer:C1", "customer", {"reason": "replied STOP"})

    post_signed(client, rt.settings, INBOUND, inbound_text(PHONE, "STOP"))  # again: no second entry
    assert len(audit_entries(rt, "customer.sms_opted_out")) == 1

    response = post_signed(client, rt.settings, INBOUND, inbound_text(PHONE, "Start"))
    assert response.status_code == 200
    assert route_skipped(rt, "sms") is None
    [entry] = audit_entries(rt, "customer.sms_opted_in")
    assert (entry.subject, entry.actor) == ("customer:C1", "customer")


@pytest.mark.parametrize("word", ["STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"])
def test_every_carrier_stop_word_opts_out(client: TestClient, rt: Runtime, clock: SimulatedClock, word: str) -> None:
    post(client, clock, builders.customer_upserted(clock.now()))
    drain(rt)

    post_signed(client, rt.settings, INBOUND, inbound_text(PHONE, word.lower()))

    assert route_skipped(rt, "sms") == f"number opted out of SMS (replied {word})"


def test_stop_drops_texts_still_waiting_for_the_morning(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    from datetime import UTC, datetime

    clock.set(datetime(2026, 3, 10, 3, 0, tzinfo=UTC))  # 23:00 in New York: the text waits
    t = clock.now()
    post(
        client,
        clock,
        builders.customer_upserted(t - timedelta(days=3)),
        builders.order_created(t - timedelta(days=2)),
        builders.shipment(t, "exception", exception="weather"),
    )
    drain(rt)
    assert [(n.channel, n.status) for n in notices(rt)] == [("email", "sent"), ("sms", "pending")]

    post_signed(client, rt.settings, INBOUND, inbound_text(PHONE, "STOP"))

    text = notices(rt)[1]
    assert text.status == "dropped" and "opted out" in (text.status_reason or "")


def test_stop_from_a_shared_number_stops_every_customer_with_it(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    t = clock.now()
    post(
        client,
        clock,
        builders.customer_upserted(t, cid="C1"),
        builders.customer_upserted(t, cid="C2", name="Bruno Souza", email="bruno@example.com"),
        builders.customer_upserted(t, cid="C3", name="Caio", phone="+5511900000000"),
    )
    drain(rt)

    post_signed(client, rt.settings, INBOUND, inbound_text(PHONE, "STOP"))

    assert [bool(route_skipped(rt, "sms", c)) for c in ("C1", "C2", "C3")] == [True, True, False]
    assert sorted(e.subject for e in audit_entries(rt, "customer.sms_opted_out")) == ["customer:C1", "customer:C2"]


def test_help_answers_with_who_we_are(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    post(client, clock, builders.customer_upserted(clock.now()))
    drain(rt)

    response = post_signed(client, rt.settings, INBOUND, inbound_text(PHONE, "help"))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Forewarn Store: proactive order and service '
        "updates. Reply STOP to opt out. Help: help@localhost</Message></Response>"
    )
    assert route_skipped(rt, "sms") is None


def test_other_replies_go_on_the_customers_timeline_not_in_the_logs(
    client: TestClient, rt: Runtime, clock: SimulatedClock, caplog: pytest.LogCaptureFixture
) -> None:
    post(client, clock, builders.customer_upserted(clock.now()))
    drain(rt)
    reply = "Can you leave it with the neighbour at 12? Thanks"

    with caplog.at_level(logging.DEBUG):
        response = post_signed(client, rt.settings, INBOUND, inbound_text(PHONE, reply))

    assert response.status_code == 200
    assert response.text.replace(" ", "").endswith("<Response/>")
    [entry] = audit_entries(rt, "customer.replied")
    assert (entry.subject, entry.actor) == ("customer:C1", "customer")
    # Their words sit beside the chain (erasable); the chained entry holds only a digest of them.
    assert entry.details["channel"] == "sms" and entry.details["length"] == len(reply) and "text" not in entry.details
    assert entry.details["personal"]["of"] == "C1" and reply not in str(entry.details)
    with Session(rt.db) as session:
        kept = session.get(AuditPersonal, entry.seq)
    assert kept is not None and kept.data == {"text": reply} and kept.customer_id == "C1"
    assert route_skipped(rt, "sms") is None
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "neighbour" not in logged and PHONE not in logged


def test_a_text_from_an_unknown_number_is_acknowledged(
    client: TestClient, rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        response = post_signed(client, rt.settings, INBOUND, inbound_text("+14155550199", "where is my order"))

    assert response.status_code == 200
    assert response.text.replace(" ", "").endswith("<Response/>")
    assert audit_entries(rt, "customer.replied") == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "+14155550199" not in logged and "+14******0199" in logged


def test_twilios_opt_out_type_wins_over_our_keyword_list(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    post(client, clock, builders.customer_upserted(clock.now()))
    drain(rt)

    post_signed(client, rt.settings, INBOUND, {**inbound_text(PHONE, "ARRÊTER"), "OptOutType": "STOP"})

    assert route_skipped(rt, "sms") == "number opted out of SMS (replied STOP)"
    assert audit_entries(rt, "customer.replied") == []


def test_a_callback_saying_the_number_is_not_a_mobile_stops_texting_it(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    text = warn_by_text(client, rt, clock)
    assert text.provider_id is not None

    post_signed(client, rt.settings, STATUS, status_callback(text.provider_id, "failed", "21614"))

    [after] = [n for n in notices(rt) if n.id == text.id]
    assert (after.status, after.status_reason) == ("failed", "twilio 21614")
    assert route_skipped(rt, "sms") == "number cannot receive texts (twilio 21614: not a mobile number)"
    assert audit_entries(rt, "customer.sms_opted_out") == []
