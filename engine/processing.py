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
from engine.inbound.repository import earlier_in_flight
from engine.models import Customer, InboundEvent
from engine.quarantine import clear, is_outage, quarantine
from engine.runtime import Runtime
from engine.state.customers import upsert_customer
from engine.state.orders import UnknownOrder, apply_order, apply_shipment
from engine.state.services import apply_service_status
from engine.vocabulary import Job, PoisonKind, Step

log = logging.getLogger(__name__)

# How long an event about an unknown order waits for the order to arrive before it is ignored.
WAIT_FOR_ORDER = timedelta(days=1)
# Workers apply events concurrently; one about a customer or order waits for an earlier one about the same
# customer or order that is still queued or being applied, for this long at most (a lost job's event is
# queued again by the relay, and waiting longer would only hold the newer news back).
IN_ORDER_FOR = timedelta(minutes=5)
WAIT_FOR_EARLIER = timedelta(seconds=1)
# An event that fails to apply this many times is set aside (outcome `quarantined`, GET /api/quarantine).
POISON_AFTER = 3
QUARANTINED = "quarantined"


def apply_event(rt: Runtime, event_id: int) -> str | None:
    """Idempotent: an event already handled is left alone. Returns the outcome recorded.

    An event about an order not known yet stays unhandled and is queued again after a short delay
    (the scheduler's relay is the backstop if that job is lost).
    """
    try:
        outcome, retry_in = _apply_stored(rt, event_id)
    except Exception as error:
        if is_outage(error):
            raise  # the job is retried; the relay is the backstop
        outcome, retry_in = _put_aside(rt, event_id, error)
    if retry_in is not None:
        rt.dispatcher.send(Job.APPLY_EVENT, event_id, delay=retry_in)
    return outcome


def _put_aside(rt: Runtime, event_id: int, error: Exception) -> tuple[str | None, timedelta | None]:
    """An event that failed to apply (engine.quarantine): tried again with backoff, set aside after
    POISON_AFTER failures so that the relay stops queueing it; either way it stops no other event."""
    now = rt.clock.now()
    with rt.unit_of_work() as session:
        row = session.get(InboundEvent, event_id)
        if row is None or row.handled_at is not None:
            return None, None
        entry = quarantine(session, kind=PoisonKind.EVENT, ref=event_id, step=Step.APPLY, error=error, at=now)
        row.attempts += 1
        row.error = f"{entry.error}: {entry.reason}"[:2000]
        if entry.failures >= POISON_AFTER:
            row.handled_at, row.outcome = now, QUARANTINED
            return row.outcome, None
        delay = _retry_delay(entry.failures)
        entry.retry_at = row.next_attempt_at = now + delay
        row.outcome = "waiting: failed to apply"
        return row.outcome, delay


def _apply_stored(rt: Runtime, event_id: int) -> tuple[str | None, timedelta | None]:
    with rt.unit_of_work() as session:
        row = session.get(InboundEvent, event_id)
        if row is None or row.handled_at is not None:
            return None, None
        tried_before = row.attempts > 0
        now = rt.clock.now()
        if not tried_before and earlier_in_flight(session, row, since=now - IN_ORDER_FOR) is not None:
            row.next_attempt_at = now + WAIT_FOR_EARLIER  # not an attempt: nothing was tried
            return "waiting: an earlier event first", WAIT_FOR_EARLIER
        outcome = apply_row(session, rt, row)
        if tried_before and row.handled_at is not None:  # it may have failed before: no longer
            clear(session, kind=PoisonKind.EVENT, refs=[event_id], step=Step.APPLY, at=rt.clock.now())
        return outcome


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
            row.attempts, row.outcome, row.next_attempt_at = attempts, "waiting: order not known yet", now + delay
            row.error = str(exc)[:2000]
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
