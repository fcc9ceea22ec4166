"""Number-level SMS suppression: a STOP (or Twilio's 21610) suppresses the number itself, so it holds for
every customer with it — including customers created later, whatever the spelling — until START."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from support import builders
from support.fake_twilio import FakeTwilio, twilio_error
from support.pipeline import drain, notices, post, route_skipped
from support.twilio_callbacks import inbound_text, post_signed, with_twilio

from engine.clock import SimulatedClock
from engine.config import Settings
from engine.models import AuditEntry
from engine.runtime import Runtime
from engine.suppressions.addresses import normalize

INBOUND = "/webhooks/twilio/inbound"
AUTH = {"Authorization": "Bearer test-token"}
PHONE = "+5511987654321"
SPACED = "+55 11 98765-4321"  # the same number as another feed writes it


@pytest.fixture
def settings(settings: Settings, fake_twilio: FakeTwilio) -> Settings:
    return with_twilio(settings, fake_twilio)


def audit_entries(rt: Runtime, action: str) -> list[AuditEntry]:
    with Session(rt.db) as session:
        statement = select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.seq))
        return list(session.exec(statement).all())


def news_for(client: TestClient, clock: SimulatedClock, customer_id: str, order_id: str) -> None:
    t = clock.now()
    post(
        client,
        clock,
        builders.order_created(t - timedelta(days=2), order_id=order_id, customer_id=customer_id),
        builders.shipment(t, "exception", order_id=order_id, exception="weather"),
    )


def test_a_stop_holds_for_customers_created_later_with_the_number_until_start(
    client: TestClient, rt: Runtime, clock: SimulatedClock, fake_twilio: FakeTwilio
) -> None:
    response = post_signed(client, rt.settings, INBOUND, inbound_text(PHONE, "STOP"))  # no customer has it yet
    assert response.status_code == 200
    [listed] = client.get("/api/suppressions", params={"channel": "sms"}, headers=AUTH).json()["items"]
    assert (listed["address"], listed["source"], listed["reason"]) == (PHONE, "customer", "replied STOP")

    clock.advance(timedelta(days=1))
    post(client, clock, builders.customer_upserted(clock.now(), cid="C2", name="Bruno Lima", phone=SPACED))
    news_for(client, clock, "C2", "B1")
    drain(rt)

    assert [(n.customer_id, n.channel, n.status) for n in notices(rt)] == [("C2", "email", "sent")]
    assert fake_twilio.requests == []
    [skipped] = audit_entries(rt, "notice.suppressed")
    assert (skipped.details["channel"], skipped.details["reason"]) == ("sms", "number opted out of SMS (replied STOP)")
    assert skipped.details["suppression_id"] == listed["id"]

    post_signed(client, rt.settings, INBOUND, inbound_text(PHONE, "START"))
    assert [e.subject for e in audit_entries(rt, "customer.sms_opted_in")] == ["customer:C2"]
    assert [e.subject for e in audit_entries(rt, "suppression.removed")] == [f"suppression:{listed['id']}"]
    clock.advance(timedelta(hours=2))
    news_for(client, clock, "C2", "B2")
    drain(rt)

    assert [(n.order_id, n.channel, n.status) for n in notices(rt)][1:] == [
        ("B2", "email", "sent"),
        ("B2", "sms", "sent"),
    ]
    assert [r.form["To"] for r in fake_twilio.requests] == [SPACED]


def test_a_text_planned_before_the_stop_is_refused_when_it_comes_due(
    client: TestClient, rt: Runtime, clock: SimulatedClock, fake_twilio: FakeTwilio
) -> None:
    clock.set(datetime(2026, 3, 10, 3, 0, tzinfo=UTC))  # 23:00 in New York: the text waits for 08:00
    post(client, clock, builders.customer_upserted(clock.now() - timedelta(days=3), phone=SPACED))
    news_for(client, clock, "C1", "A1")
    drain(rt)
    text = notices(rt)[1]
    assert (text.channel, text.status, text.recipient) == ("sms", "pending", SPACED)

    post_signed(client, rt.settings, INBOUND, inbound_text(PHONE, "STOP"))
    clock.set(text.send_at)
    drain(rt)

    after = notices(rt)[1]
    assert (after.status, after.status_reason) == ("dropped", "number opted out of SMS (replied STOP)")
    assert fake_twilio.requests == []


def test_21610_suppresses_the_number_for_the_next_customer_too(
    client: TestClient, rt: Runtime, clock: SimulatedClock, fake_twilio: FakeTwilio
) -> None:
    post(client, clock, builders.customer_upserted(clock.now() - timedelta(days=3)))
    fake_twilio.unsubscribed_next()
    news_for(client, clock, "C1", "A1")
    drain(rt)
    assert [(n.channel, n.status) for n in notices(rt)] == [("email", "sent"), ("sms", "failed")]

    post(client, clock, builders.customer_upserted(clock.now(), cid="C2", name="Bruno Lima", phone=PHONE))
    drain(rt)
    assert route_skipped(rt, "sms", "C2") == "number opted out of SMS (twilio 21610: the number replied STOP)"
    [listed] = client.get("/api/suppressions", params={"source": "twilio"}, headers=AUTH).json()["items"]
    assert listed["address"] == PHONE


@pytest.mark.parametrize(
    ("channel", "raw", "expected"),
    [
        ("sms", "+55 (11) 98765-4321", "+5511987654321"),
        ("sms", "0055 11 987654321", "+5511987654321"),
        ("sms", "+1.415.555.0199", "+14155550199"),
        ("email", "  Ana.Souza@Example.COM ", "ana.souza@example.com"),
    ],
)
def test_addresses_have_one_spelling(channel: str, raw: str, expected: str) -> None:
    assert normalize(channel, raw) == expected


@pytest.mark.parametrize(
    ("code", "message", "meaning"),
    [
        (21211, "The 'To' number +5511987654321 is not a valid phone number.", "not a valid phone number"),
        (21614, "'To' number is not a valid mobile number", "not a mobile number"),
    ],
)
def test_a_number_that_cannot_take_texts_is_not_texted_again(
    client: TestClient,
    rt: Runtime,
    clock: SimulatedClock,
    fake_twilio: FakeTwilio,
    code: int,
    message: str,
    meaning: str,
) -> None:
    """Twilio says the number can never take a text: the news goes by email, and the next is not texted."""
    post(client, clock, builders.customer_upserted(clock.now() - timedelta(days=3)))
    fake_twilio.reply_next(400, twilio_error(400, code, message))
    news_for(client, clock, "C1", "A1")
    drain(rt)
    assert [(n.channel, n.stage, n.status) for n in notices(rt)] == [
        ("email", "initial", "sent"),
        ("sms", "initial", "failed"),
    ]
    reason = f"twilio {code}: {meaning}"
    assert route_skipped(rt, "sms") == f"number cannot receive texts ({reason})"
    [listed] = client.get("/api/suppressions", params={"source": "twilio"}, headers=AUTH).json()["items"]
    assert (listed["address"], listed["reason"]) == (PHONE, reason)
    # Not the customer's choice: no SMS opt-out on their timeline.
    assert audit_entries(rt, "customer.sms_opted_out") == []

    news_for(client, clock, "C1", "A2")
    drain(rt)
    assert [n.channel for n in notices(rt)[2:]] == ["email"]
    assert len(fake_twilio.requests) == 1
