"""One customer's whole story on one list (GET /api/customers/{id}/timeline): their orders and the events
about them, incidents they were caught in, each situation opened and resolved, every notice (sent, held,
dropped) with where it stands, and their replies and opt-outs — oldest first.

Contact details are masked unless the viewer asks (`reveal`), which is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from engine.brakes.pause import PauseState, pause_state
from engine.models import Customer, InboundEvent, Incident, Notice, Order
from engine.read import customer_records as records
from engine.read.contacts import Viewer, record_reveal, show_address
from engine.read.events import event_summary
from engine.read.outcome import outcome
from engine.read.timeline import Moment, from_entry, in_order
from engine.runtime import Runtime
from engine.suppressions import service as suppressions
from engine.vocabulary import SituationKind

# What the customer did or had done to their preferences; staff looking at them is not part of their story.
_NOT_THEIR_STORY = frozenset({"contact.revealed"})


def customer_timeline(session: Session, rt: Runtime, customer_id: str, viewer: Viewer) -> dict[str, Any] | None:
    """The customer page's data, or None when there is no such customer."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    now = rt.clock.now()
    record_reveal(session, viewer, subject=f"customer:{customer_id}", at=now, page="customer")
    orders = records.orders(session, customer_id)
    situations = records.situations(session, customer_id)
    notices = records.notices(session, customer_id)
    incidents = records.incidents(session, sorted({s.incident_id for s in situations if s.incident_id}))
    suppressed = suppressions.for_customer(session, customer)
    subjects = [f"customer:{customer_id}", *(f"situation:{s.id}" for s in situations)]
    subjects += [f"suppression:{row.id}" for row in suppressed.values()]
    pause = pause_state(session)
    moments = [
        *(m for order in orders for m in _order(order)),
        *(m for incident in incidents for m in _incident(incident)),
        # Read newest first (what a cap keeps); put back in the order they came, which ties at one instant keep.
        *(_event(e) for e in reversed(records.events(session, customer_id, [o.id for o in orders]))),
        *(from_entry(e) for e in records.entries(session, subjects) if e.action not in _NOT_THEIR_STORY),
        *(_notice(n, viewer, pause=pause, now=now) for n in reversed(notices)),
    ]
    return {
        "customer": _customer(customer, viewer, suppressed),
        "timeline": [m.as_json() for m in in_order(moments)],
        "truncated": any(len(rows) >= records.MOST for rows in (orders, situations, notices)),
    }


def _customer(customer: Customer, viewer: Viewer, suppressed: dict[Any, Any]) -> dict[str, Any]:
    return {
        "id": customer.id,
        "name": customer.name,
        "email": show_address(customer.email, viewer),
        "phone": show_address(customer.phone, viewer),
        "locale": customer.locale,
        "timezone": customer.timezone,
        "channels": customer.channels,
        "components": customer.components,
        "email_opted_out": customer.email_opted_out,
        "suppressed": {str(channel): suppressions.describe(row) for channel, row in suppressed.items()},
        "contact_revealed": viewer.reveal,
    }


def _event(event: InboundEvent) -> Moment:
    return Moment(event.received_at, "event", event_summary(event), f"webhook:{event.source}", f"event:{event.id}")


def _order(order: Order) -> list[Moment]:
    subject = f"order:{order.id}"
    promised = f", promised by {order.promised_by.date().isoformat()}" if order.promised_by else ""
    moments = [
        Moment(
            order.placed_at or order.created_at, "order_placed", f"order {order.id} placed{promised}", subject=subject
        )
    ]
    if order.canceled_at:
        moments.append(Moment(order.canceled_at, "order_canceled", f"order {order.id} canceled", subject=subject))
    if order.delivered_at:
        moments.append(Moment(order.delivered_at, "order_delivered", f"order {order.id} delivered", subject=subject))
    return moments


def _incident(incident: Incident) -> list[Moment]:
    subject = f"incident:{incident.id}"
    what = incident.title or ", ".join(incident.components)
    moments = [
        Moment(incident.started_at, "incident_started", f"incident {incident.id} began: {what}", subject=subject)
    ]
    if incident.resolved_at:
        moments.append(
            Moment(incident.resolved_at, "incident_resolved", f"incident {incident.id} resolved", subject=subject)
        )
    return moments


def _notice(notice: Notice, viewer: Viewer, *, pause: PauseState, now: datetime) -> Moment:
    where = outcome(notice, pause=pause, now=now)
    about = notice.thread_key if notice.situation != SituationKind.DIGEST else "several orders"
    summary = f"{notice.stage} {notice.channel} about {about}: {where.words}"
    details = {
        "notice_id": notice.id,
        "channel": notice.channel,
        "stage": notice.stage,
        "situation": notice.situation,
        "status": notice.status,
        "state": where.state,
        "reason": where.reason,
        "recipient": show_address(notice.recipient, viewer),
        "subject": notice.subject,
    }
    return Moment(notice.created_at, "notice", summary, "system", f"notice:{notice.id}", details=details)
