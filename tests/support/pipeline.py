"""Run the background steps synchronously, as a worker would, so tests can assert on outcomes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from engine.brakes.pause import set_paused
from engine.clock import SimulatedClock
from engine.delivery.service import deliver_due
from engine.events import parse_events
from engine.inbound.service import store_events
from engine.models import Customer, InboundEvent, Notice
from engine.policy.channels import routes_for
from engine.processing import apply_event
from engine.runtime import Runtime
from engine.suppressions import service as suppressions
from support import builders


def drain(rt: Runtime) -> None:
    """Apply every stored event not yet handled, then deliver every notice that is due."""
    with Session(rt.db) as session:
        ids = session.exec(
            select(InboundEvent.id).where(col(InboundEvent.handled_at).is_(None)).order_by(col(InboundEvent.id))
        ).all()
    for event_id in ids:
        assert event_id is not None
        apply_event(rt, event_id)
    deliver_due(rt, jitter=False)


def feed(rt: Runtime, *events: dict[str, Any]) -> None:
    """Store canonical events as the inbound path would, then run the background steps."""
    with rt.unit_of_work() as session:
        store_events(
            session, source="events", events=parse_events(list(events)), received_at=rt.clock.now(), queue=False
        )
    drain(rt)


def post(client: TestClient, clock: SimulatedClock, *events: dict[str, Any]) -> None:
    """POST events to /webhooks/events, signed; the engine must accept them."""
    body, headers = builders.signed(list(events), now=clock.now())
    response = client.post("/webhooks/events", content=body, headers=headers)
    assert response.status_code == 202, response.text


def notices(rt: Runtime) -> list[Notice]:
    with Session(rt.db) as session:
        return list(session.exec(select(Notice).order_by(col(Notice.id))).all())


def route_skipped(rt: Runtime, channel: str, customer_id: str = "C1") -> str | None:
    """Why the planner would skip this channel for the customer now (consent, address, suppression), or None."""
    with Session(rt.db) as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        suppressed = {c: suppressions.describe(row) for c, row in suppressions.for_customer(session, customer).items()}
        return routes_for(customer, suppressed).skipped.get(channel)


def pause_sending(rt: Runtime, paused: bool, actor: str, reason: str | None) -> None:
    """What staff do with POST /api/pause, in a transaction of its own."""
    with rt.unit_of_work() as session:
        set_paused(session, paused, actor, at=rt.clock.now(), reason=reason)
