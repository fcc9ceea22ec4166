"""The spine end to end: a carrier exception becomes a warning; delivery closes the thread with thanks."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from support import builders
from support.pipeline import drain, notices, post

from engine.clock import SimulatedClock, format_instant
from engine.models import InboundEvent, Situation
from engine.processing import apply_event
from engine.runtime import Runtime


def test_exception_warns_then_delivery_follows_up(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    t = clock.now()
    post(
        client,
        clock,
        builders.customer_upserted(t - timedelta(days=3)),
        builders.order_created(t - timedelta(days=2)),
        builders.shipment(t - timedelta(days=1), "in_transit"),
        builders.shipment(t, "exception", exception="weather"),
    )
    drain(rt)
    sent = notices(rt)
    assert [(n.situation, n.stage, n.channel, n.status) for n in sent] == [
        ("shipment.exception", "initial", "email", "sent"),
        ("shipment.exception", "initial", "sms", "sent"),
    ]
    eml = Path(rt.settings.outbox_dir) / f"{sent[0].id}.eml"
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "ana@example.com"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Ana" in text and "desk lamp" in text.lower()

    clock.advance(timedelta(days=2))
    post(client, clock, builders.shipment(clock.now(), "delivered"))
    drain(rt)
    stages = [(n.stage, n.channel, n.status) for n in notices(rt)]
    assert stages[2:] == [("resolved", "email", "sent"), ("resolved", "sms", "sent")]
    followup = notices(rt)[2]
    assert followup.in_reply_to == sent[0].message_id
    with Session(rt.db) as session:
        situation = session.exec(select(Situation)).one()
    assert situation.status == "resolved"


def story(client: TestClient, clock: SimulatedClock, **customer: object) -> None:
    t = clock.now()
    post(
        client,
        clock,
        builders.customer_upserted(t - timedelta(days=3), **customer),
        builders.order_created(t - timedelta(days=2)),
        builders.shipment(t - timedelta(days=1), "in_transit"),
    )


def test_only_consented_channels_are_used(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    story(client, clock, channels=["email"])
    post(client, clock, builders.shipment(clock.now(), "exception", exception="damaged"))
    drain(rt)
    assert [(n.channel, n.status) for n in notices(rt)] == [("email", "sent")]
    assert not Path(rt.settings.sms_dir).exists()


def test_no_channel_at_all_is_an_audited_suppression(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    story(client, clock, channels=["sms"], phone=None)
    post(client, clock, builders.shipment(clock.now(), "exception", exception="damaged"))
    drain(rt)
    assert notices(rt) == []
    response = client.get(
        "/api/audit", params={"action": "notice.suppressed"}, headers={"Authorization": "Bearer test-token"}
    )
    [entry] = response.json()["items"]
    assert "no phone number" in entry["details"]["reason"]


def test_sms_waits_for_morning_and_email_does_not(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    clock.set(datetime(2026, 3, 8, 3, 30, tzinfo=UTC))  # 23:30 in New York, the night DST starts
    story(client, clock)
    post(client, clock, builders.shipment(clock.now(), "exception", exception="weather"))
    drain(rt)
    email_notice, sms_notice = notices(rt)
    assert email_notice.status == "sent"
    assert sms_notice.status == "pending" and sms_notice.deferred
    assert sms_notice.send_at.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M %Z") == "08:00 EDT"
    clock.set(sms_notice.send_at)
    drain(rt)
    assert notices(rt)[1].status == "sent"


def test_deferred_text_is_dropped_when_the_parcel_arrives_first(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    clock.set(datetime(2026, 3, 10, 3, 0, tzinfo=UTC))  # 23:00 in New York
    story(client, clock)
    post(client, clock, builders.shipment(clock.now(), "exception", exception="weather"))
    drain(rt)
    clock.advance(timedelta(hours=2))
    post(client, clock, builders.shipment(clock.now(), "delivered"))
    drain(rt)
    clock.advance(timedelta(hours=12))
    drain(rt)
    got = [(n.stage, n.channel, n.status) for n in notices(rt)]
    # The customer was told by email, so the email thread closes; no text about it at all.
    assert got == [("initial", "email", "sent"), ("initial", "sms", "dropped"), ("resolved", "email", "sent")]


def test_one_thread_per_order_new_trouble_is_an_update_repeats_are_silent(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    story(client, clock, channels=["email"])
    post(client, clock, builders.shipment(clock.now(), "exception", exception="weather"))
    drain(rt)
    clock.advance(timedelta(hours=3))
    post(client, clock, builders.shipment(clock.now(), "exception", exception="weather"))  # same news again
    drain(rt)
    clock.advance(timedelta(hours=3))
    post(client, clock, builders.shipment(clock.now(), "lost"))
    drain(rt)
    assert [(n.situation, n.stage) for n in notices(rt)] == [
        ("shipment.exception", "initial"),
        ("shipment.exception", "update"),
    ]
    with Session(rt.db) as session:
        assert len(session.exec(select(Situation)).all()) == 1


def test_an_older_scan_never_overwrites_newer_state(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    story(client, clock, channels=["email"])
    now = clock.now()
    post(client, clock, builders.shipment(now, "delivered"))
    post(client, clock, builders.shipment(now - timedelta(hours=5), "exception", exception="weather"))  # late
    drain(rt)
    assert notices(rt) == []
    events = client.get("/api/events", params={"status": "stale"}, headers={"Authorization": "Bearer test-token"})
    assert len(events.json()["items"]) == 1


def test_a_scan_that_arrives_before_its_order_waits_for_it(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    t = clock.now()
    post(
        client,
        clock,
        builders.customer_upserted(t, channels=["email"]),
        builders.shipment(t, "exception", exception="damaged"),
    )
    drain(rt)
    assert notices(rt) == []
    clock.advance(timedelta(minutes=1))
    post(client, clock, builders.order_created(t - timedelta(days=1)))
    drain(rt)
    drain(rt)  # the waiting scan is due again
    assert [(n.situation, n.status) for n in notices(rt)] == [("shipment.exception", "sent")]


def test_a_scan_taken_by_a_second_worker_waits_for_the_customer_it_concerns(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    """Two workers: one is still writing the customer's details when the other picks up their parcel's
    damage. Judged then, the customer has no address yet and is never told; the scan must wait its turn."""
    t = clock.now()
    post(
        client,
        clock,
        builders.order_created(t),  # the order alone makes a blank customer
        builders.customer_upserted(t, channels=["email"]),
        builders.shipment(t, "exception", exception="damaged"),
    )
    order_id, customer_id, scan_id = _stored_ids(rt)
    apply_event(rt, order_id)
    assert apply_event(rt, scan_id) == "waiting: an earlier event first"  # the customer's is in flight
    apply_event(rt, customer_id)
    clock.advance(timedelta(seconds=2))
    drain(rt)
    assert [(n.situation, n.status) for n in notices(rt)] == [("shipment.exception", "sent")]


def _stored_ids(rt: Runtime) -> list[int]:
    with Session(rt.db) as session:
        return [i for i in session.exec(select(InboundEvent.id).order_by(col(InboundEvent.id))).all() if i]


def test_a_canceled_order_hears_nothing_more(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    story(client, clock, channels=["email"])
    post(client, clock, builders.shipment(clock.now(), "exception", exception="damaged"))
    drain(rt)
    clock.advance(timedelta(hours=1))
    post(
        client,
        clock,
        {"id": "cancel-1", "type": "order.canceled", "occurred_at": clock.now().isoformat(), "order": {"id": "A1001"}},
    )
    clock.advance(timedelta(days=2))
    post(client, clock, builders.shipment(clock.now(), "delivered"))
    drain(rt)
    assert [n.stage for n in notices(rt)] == ["initial"]


def test_a_text_held_overnight_is_worded_for_the_morning_it_is_read(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    """Written at 23:30 on Tuesday about a parcel now due on Thursday, read at 08:00 on Wednesday: by then
    Thursday is "tomorrow", and the text must say so (worded at 23:30 it would say "Thu")."""
    clock.set(datetime(2026, 3, 11, 3, 30, tzinfo=UTC))  # 23:30 on Tuesday 10 March in New York
    t = clock.now()
    post(
        client,
        clock,
        builders.customer_upserted(t - timedelta(days=3), channels=["sms"]),
        # promised for Wednesday 11 March, 11:30
        builders.order_created(t - timedelta(days=2), promised_in=timedelta(days=2, hours=12)),
        builders.shipment(t - timedelta(days=1), "in_transit"),
    )
    eta = datetime(2026, 3, 12, 22, 0, tzinfo=UTC)  # 18:00 on Thursday 12 March: a day late
    post(client, clock, builders.shipment(t, "in_transit", estimated_delivery_at=format_instant(eta)))
    drain(rt)
    (text,) = notices(rt)
    assert (text.situation, text.deferred) == ("shipment.delayed", True)
    assert text.send_at.astimezone(ZoneInfo("America/New_York")).strftime("%a %H:%M") == "Wed 08:00"
    assert "tomorrow" in text.body and "Thu" not in text.body, text.body
