"""Channel fallback: a text that fails for good becomes an email, if the customer said yes to email.

The planner already writes to every channel the customer consented to, so the fallback matters when
email was not possible when the news was planned (no address on file yet) but is when the text fails.
"""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from support import builders
from support.fake_twilio import FakeTwilio, twilio_error
from support.pipeline import drain, notices, post, route_skipped
from support.twilio_callbacks import post_signed, status_callback, with_twilio

from engine.clock import SimulatedClock
from engine.config import Settings
from engine.delivery.record import MAX_ATTEMPTS
from engine.models import AuditEntry, Notice
from engine.runtime import Runtime

NIGHT = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 23:00 in New York: texts wait for 08:00


@pytest.fixture
def settings(settings: Settings, fake_twilio: FakeTwilio) -> Settings:
    return with_twilio(settings, fake_twilio)


def audit_entries(rt: Runtime, action: str) -> list[AuditEntry]:
    with Session(rt.db) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def opted_out(rt: Runtime) -> bool:
    return "opted out" in (route_skipped(rt, "sms") or "")


def text_waiting_for_morning(client: TestClient, rt: Runtime, clock: SimulatedClock, **customer: object) -> Notice:
    """A late-evening carrier exception for a customer with no email address yet: only a text, deferred.

    Overnight the customer's record gains an email address.
    """
    clock.set(NIGHT)
    t = clock.now()
    post(
        client,
        clock,
        builders.customer_upserted(t - timedelta(days=3), email=None, **customer),
        builders.order_created(t - timedelta(days=2)),
        builders.shipment(t - timedelta(days=1), "in_transit"),
        builders.shipment(t, "exception", exception="weather"),
    )
    drain(rt)
    [text] = notices(rt)
    assert (text.channel, text.status, text.deferred) == ("sms", "pending", True)
    clock.advance(timedelta(hours=1))
    post(client, clock, builders.customer_upserted(clock.now(), email="ana@example.com", **customer))
    drain(rt)
    clock.set(text.send_at)
    return text


def test_a_text_to_an_unsubscribed_number_becomes_an_email(
    client: TestClient, rt: Runtime, clock: SimulatedClock, fake_twilio: FakeTwilio
) -> None:
    text = text_waiting_for_morning(client, rt, clock)
    fake_twilio.unsubscribed_next()

    drain(rt)  # the text fails with 21610 and the email is planned
    drain(rt)  # the email goes out

    assert [(n.stage, n.channel, n.status) for n in notices(rt)] == [
        ("initial", "sms", "failed"),
        ("initial", "email", "sent"),
    ]
    sms, fallback = notices(rt)
    assert sms.status_reason == "twilio 21610: Attempt to send to unsubscribed recipient"
    assert opted_out(rt)
    [entry] = audit_entries(rt, "notice.fallback")
    assert entry.subject == f"notice:{text.id}"
    assert entry.details["fallback_notice_id"] == fallback.id
    assert entry.details["reason"].startswith("twilio 21610")
    eml = Path(rt.settings.outbox_dir) / f"{fallback.id}.eml"
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "ana@example.com"
    assert "desk lamp" in message.get_body(preferencelist=("plain",)).get_content().lower()


def test_another_permanent_refusal_falls_back_without_opting_out(
    client: TestClient, rt: Runtime, clock: SimulatedClock, fake_twilio: FakeTwilio
) -> None:
    text_waiting_for_morning(client, rt, clock)
    fake_twilio.reply_next(400, twilio_error(400, 21211, "The 'To' number is not a valid phone number."))

    drain(rt)
    drain(rt)

    assert [(n.channel, n.status) for n in notices(rt)] == [("sms", "failed"), ("email", "sent")]
    assert not opted_out(rt)
    assert len(audit_entries(rt, "notice.fallback")) == 1


def test_a_text_that_never_gets_through_falls_back_once_attempts_run_out(
    client: TestClient, rt: Runtime, clock: SimulatedClock, fake_twilio: FakeTwilio
) -> None:
    text_waiting_for_morning(client, rt, clock)
    for _ in range(MAX_ATTEMPTS):
        fake_twilio.server_error_next()

    for _ in range(MAX_ATTEMPTS):
        drain(rt)
        clock.advance(timedelta(hours=2))
    drain(rt)

    assert [(n.channel, n.status, n.attempts) for n in notices(rt)] == [
        ("sms", "failed", MAX_ATTEMPTS),
        ("email", "sent", 1),
    ]
    assert len(audit_entries(rt, "notice.fallback")) == 1


def test_an_undelivered_status_callback_falls_back_too(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    text_waiting_for_morning(client, rt, clock)
    drain(rt)
    [sent] = notices(rt)
    assert sent.status == "sent" and sent.provider_id is not None

    response = post_signed(
        client, rt.settings, "/webhooks/twilio/status", status_callback(sent.provider_id, "undelivered", "30006")
    )
    drain(rt)

    assert response.status_code == 200
    assert [(n.channel, n.status, n.status_reason) for n in notices(rt)] == [
        ("sms", "failed", "twilio 30006"),
        ("email", "sent", None),
    ]
    assert not opted_out(rt)


def test_no_fallback_without_consent_to_email(
    client: TestClient, rt: Runtime, clock: SimulatedClock, fake_twilio: FakeTwilio
) -> None:
    text_waiting_for_morning(client, rt, clock, channels=["sms"])
    fake_twilio.unsubscribed_next()

    drain(rt)
    drain(rt)

    assert [(n.channel, n.status) for n in notices(rt)] == [("sms", "failed")]
    assert audit_entries(rt, "notice.fallback") == []
    assert opted_out(rt)
    assert not Path(rt.settings.outbox_dir).exists()


def test_no_second_email_when_the_customer_had_one_already(
    client: TestClient, rt: Runtime, clock: SimulatedClock, fake_twilio: FakeTwilio
) -> None:
    t = clock.now()
    post(
        client,
        clock,
        builders.customer_upserted(t - timedelta(days=3)),
        builders.order_created(t - timedelta(days=2)),
        builders.shipment(t, "exception", exception="weather"),
    )
    fake_twilio.unsubscribed_next()

    drain(rt)
    drain(rt)

    assert [(n.channel, n.status) for n in notices(rt)] == [("email", "sent"), ("sms", "failed")]
    assert audit_entries(rt, "notice.fallback") == []


def test_no_late_warning_by_email_once_the_problem_is_fixed(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    text_waiting_for_morning(client, rt, clock)
    drain(rt)
    [sent] = notices(rt)
    assert sent.provider_id is not None
    post(client, clock, builders.shipment(clock.now(), "delivered"))
    drain(rt)

    post_signed(
        client, rt.settings, "/webhooks/twilio/status", status_callback(sent.provider_id, "undelivered", "30003")
    )
    drain(rt)

    assert [(n.stage, n.channel) for n in notices(rt) if n.channel == "email" and n.stage != "resolved"] == []
    assert audit_entries(rt, "notice.fallback") == []
