"""What the engine recorded about one notice, read back for its page: attempts, audit entries, the notices
merged into it, its situation's story and the events behind it. Every query is by an indexed key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from engine.models import AuditEntry, DeliveryAttempt, InboundEvent, Incident, Notice
from engine.vocabulary import Channel

# The events shown as a notice's cause: the newest before it, enough to see what led to it.
CAUSE_EVENTS = 20
# How many incident status events to read when looking for one incident's (their id is inside the JSON).
STATUS_EVENTS_SCANNED = 500
# A customer's opt-out of each channel, as their timeline records it (engine/preferences/service.py).
OPT_OUT_ACTIONS = {Channel.SMS: "customer.sms_opted_out", Channel.EMAIL: "customer.email_unsubscribed"}


def attempts(session: Session, notice_id: int) -> list[DeliveryAttempt]:
    statement = select(DeliveryAttempt).where(DeliveryAttempt.notice_id == notice_id).order_by(col(DeliveryAttempt.id))
    return list(session.exec(statement).all())


def entries_about(session: Session, subjects: Sequence[str], *, actions: Sequence[str] = ()) -> list[AuditEntry]:
    """Audit entries whose subject is one of these, oldest first (optionally only these actions)."""
    if not subjects:
        return []
    statement = select(AuditEntry).where(col(AuditEntry.subject).in_(list(subjects)))
    if actions:
        statement = statement.where(col(AuditEntry.action).in_(list(actions)))
    return list(session.exec(statement.order_by(col(AuditEntry.seq))).all())


def merged_into(session: Session, carrier_id: int) -> list[Notice]:
    statement = select(Notice).where(Notice.merged_into == carrier_id).order_by(col(Notice.id))
    return list(session.exec(statement).all())


def opt_outs_since(session: Session, customer_id: str, *, channel: Channel, since: datetime) -> list[AuditEntry]:
    """The customer's opt-outs of `channel` from `since` on (a STOP after this text, say)."""
    statement = (
        select(AuditEntry)
        .where(AuditEntry.subject == f"customer:{customer_id}", AuditEntry.action == OPT_OUT_ACTIONS[channel])
        .where(col(AuditEntry.at) >= since)
        .order_by(col(AuditEntry.seq))
        .limit(20)
    )
    return list(session.exec(statement).all())


def order_events(session: Session, order_id: str, *, before: datetime) -> list[InboundEvent]:
    """The newest events about the order received by `before`, oldest first."""
    statement = (
        select(InboundEvent)
        .where(InboundEvent.order_id == order_id, col(InboundEvent.received_at) <= before)
        .order_by(col(InboundEvent.id).desc())
        .limit(CAUSE_EVENTS)
    )
    return list(reversed(session.exec(statement).all()))


def incident_events(session: Session, incident: Incident, *, before: datetime) -> list[InboundEvent]:
    """The newest status events about the incident received by `before`, oldest first.

    Status events carry the incident inside their JSON (or, from feeds that name none, only the component),
    so the newest few hundred status events are read and matched here: incidents are few and their events
    recent, and no index is added for this page."""
    statement = (
        select(InboundEvent)
        .where(InboundEvent.type == "service.status", col(InboundEvent.received_at) <= before)
        .order_by(col(InboundEvent.id).desc())
        .limit(STATUS_EVENTS_SCANNED)
    )
    found = [e for e in session.exec(statement).all() if _about(e, incident)]
    return list(reversed(found[:CAUSE_EVENTS]))


def _about(event: InboundEvent, incident: Incident) -> bool:
    service = event.payload.get("service")
    if not isinstance(service, dict):
        return False
    named = service.get("incident_id")
    if named:
        return bool(named == incident.id)
    # A feed that names no incident: the spell of this component that the incident is.
    return service.get("component") in incident.components and event.occurred_at >= incident.started_at
