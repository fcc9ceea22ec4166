"""Apply one stored inbound event: update state, run the rules, stamp it handled."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlmodel import Session

from engine.detection.outages.announcement import tell_new_follower
from engine.detection.outages.status import on_component_change
from engine.detection.shipments import on_order_canceled, on_order_changed, on_shipment_change
from engine.errors import InvalidEvent
from engine.events.schema import CanonicalEvent, parse_event
from engine.models import Customer, InboundEvent
from engine.runtime import Runtime
from engine.state.customers import upsert_customer
from engine.state.orders import UnknownOrder, apply_order, apply_shipment
from engine.state.services import apply_service_status
from engine.vocabulary import Job

log = logging.getLogger(__name__)

# How long an event about an unknown order waits for the order to arrive before it is ignored.
WAIT_FOR_ORDER = timedelta(days=1)


def apply_event(rt: Runtime, event_id: int) -> str | None:
    """Idempotent: an event already handled is left alone. Returns the outcome recorded.

    An event about an order not known yet stays unhandled and is queued again after a short delay
    (the scheduler's relay is the backstop if that job is lost).
    """
    outcome, retry_in = _apply_stored(rt, event_id)
    if retry_in is not None:
        rt.dispatcher.send(Job.APPLY_EVENT, event_id, delay=retry_in)
    return outcome


def _apply_stored(rt: Runtime, event_id: int) -> tuple[str | None, timedelta | None]:
    with rt.unit_of_work() as session:
        row = session.get(InboundEvent, event_id)
        if row is None or row.handled_at is not None:
            return None, None
        return apply_row(session, rt, row)


def apply_row(
    session: Session, rt: Runtime, row: InboundEvent, event: CanonicalEvent | None = None
) -> tuple[str | None, timedelta | None]:
    """Apply a stored, unhandled event inside the caller's transaction.

    Returns the outcome and, for an event about an order not known yet, how long to wait before trying
    again. `event` saves re-parsing when the caller has just parsed the payload.
    """
    now = rt.clock.now()
    # Counted once at the end: an early write would cost an extra UPDATE per event (autoflush).
    attempts = row.attempts + 1
    try:
        # UnknownOrder is raised before anything is written, so no savepoint is needed.
        outcome = _apply(session, rt, event or parse_event(row.payload))
    except UnknownOrder as exc:
        if now - row.received_at < WAIT_FOR_ORDER:
            # Feeds deliver out of order (a scan before its order): try again later.
            delay = _retry_delay(attempts)
            row.attempts, row.outcome, row.next_attempt_at = attempts, f"waiting: {exc}", now + delay
            return row.outcome, delay
        outcome = "ignored: unknown order"
    except InvalidEvent as exc:
        # Stored events were validated on the way in; this guards against older rows and feed bugs.
        outcome, row.error = "rejected", str(exc)[:2000]
        log.warning("inbound event %s could not be applied: %s", row.id, type(exc).__name__)
    row.attempts, row.handled_at, row.outcome = attempts, now, outcome
    return outcome, None


def _retry_delay(attempts: int) -> timedelta:
    delay: timedelta = min(timedelta(seconds=5) * 2 ** min(attempts - 1, 10), timedelta(hours=1))
    return delay


def _apply(session: Session, rt: Runtime, event: CanonicalEvent) -> str:
    now = rt.clock.now()
    if event.type == "customer.upserted":
        assert event.customer is not None
        upserted, followed = upsert_customer(session, event.customer, occurred_at=event.occurred_at, now=now)
        if followed:  # following something already down and announced: told now, not at the next outage
            tell_new_follower(session, rt, upserted.id, followed)
        return "applied"
    if event.type in ("order.created", "order.updated", "order.canceled"):
        order = apply_order(session, event, now=now)
        on_order_changed(session, rt, order)
        if event.type == "order.canceled":
            customer = session.get(Customer, order.customer_id)
            if customer is not None:
                on_order_canceled(session, rt, customer=customer, order_id=order.id)
        return "applied"
    if event.type == "shipment.updated":
        change = apply_shipment(session, event, now=now)
        on_shipment_change(session, rt, change)
        return "stale" if change.stale else "applied"
    if event.type == "service.status":
        component_change = apply_service_status(session, event, now=now)
        on_component_change(session, rt, component_change)
        return "stale" if component_change.stale else "applied"
    return "ignored"
