"""Apply one stored inbound event: update state, run the rules, stamp it handled."""

from __future__ import annotations

import logging

from sqlmodel import Session

from engine.detection.shipments import on_order_canceled, on_shipment_change
from engine.errors import InvalidEvent
from engine.events.schema import CanonicalEvent, parse_event
from engine.models import Customer, InboundEvent
from engine.runtime import Runtime
from engine.state.customers import upsert_customer
from engine.state.orders import apply_order, apply_shipment
from engine.state.services import apply_service_status

log = logging.getLogger(__name__)


def apply_event(rt: Runtime, event_id: int) -> str | None:
    """Idempotent: an event already handled is left alone. Returns the outcome recorded."""
    with rt.unit_of_work() as session:
        row = session.get(InboundEvent, event_id)
        if row is None or row.handled_at is not None:
            return None
        try:
            event = parse_event(row.payload)
            outcome = _apply(session, rt, event)
        except (InvalidEvent, LookupError) as exc:
            # Stored events were validated on the way in; this guards against older rows and feed bugs.
            outcome, row.error = "rejected", str(exc)[:2000]
            log.warning("inbound event %s could not be applied: %s", event_id, type(exc).__name__)
        row.handled_at, row.outcome = rt.clock.now(), outcome
        return outcome


def _apply(session: Session, rt: Runtime, event: CanonicalEvent) -> str:
    now = rt.clock.now()
    if event.type == "customer.upserted":
        assert event.customer is not None
        upsert_customer(session, event.customer, occurred_at=event.occurred_at, now=now)
        return "applied"
    if event.type in ("order.created", "order.updated", "order.canceled"):
        order = apply_order(session, event, now=now)
        if event.type == "order.canceled":
            customer = session.get(Customer, order.customer_id)
            if customer is not None:
                on_order_canceled(session, rt, customer=customer, order_id=order.id)
        return "applied"
    if event.type == "shipment.updated":
        change = apply_shipment(session, event, now=now)
        if change is None:
            return "ignored: unknown order"
        on_shipment_change(session, rt, change)
        return "stale" if change.stale else "applied"
    if event.type == "service.status":
        component_change = apply_service_status(session, event, now=now)
        return "stale" if component_change.stale else "applied"
    return "ignored"
