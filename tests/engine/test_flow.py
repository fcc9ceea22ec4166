"""The spine end to end: a carrier exception becomes a warning; delivery closes the thread with thanks."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from support import builders
from support.pipeline import drain

from engine.clock import SimulatedClock
from engine.models import Notice, Situation
from engine.runtime import Runtime


def post(client: TestClient, clock: SimulatedClock, *events: dict) -> None:
    body, headers = builders.signed(list(events), now=clock.now())
    response = client.post("/webhooks/events", content=body, headers=headers)
    assert response.status_code == 202, response.text


def notices(rt: Runtime) -> list[Notice]:
    with Session(rt.db) as session:
        return list(session.exec(select(Notice).order_by(col(Notice.id))).all())


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
