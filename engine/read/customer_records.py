"""What the engine holds about one customer, for their timeline: orders, incidents, situations, notices,
events and audit entries. Each query goes through an index on the customer, an order or a subject."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, or_, select

from engine.audit import personal
from engine.models import AuditEntry, InboundEvent, Incident, Notice, Order, Situation

# A timeline shows at most this many of each kind of row (newest kept): a page, not an export.
MOST = 500


def orders(session: Session, customer_id: str) -> list[Order]:
    statement = select(Order).where(Order.customer_id == customer_id).order_by(col(Order.created_at).desc())
    return list(session.exec(statement.limit(MOST)).all())


def situations(session: Session, customer_id: str) -> list[Situation]:
    statement = select(Situation).where(Situation.customer_id == customer_id).order_by(col(Situation.id).desc())
    return list(session.exec(statement.limit(MOST)).all())


def notices(session: Session, customer_id: str) -> list[Notice]:
    statement = select(Notice).where(Notice.customer_id == customer_id).order_by(col(Notice.id).desc())
    return list(session.exec(statement.limit(MOST)).all())


def incidents(session: Session, incident_ids: Sequence[str]) -> list[Incident]:
    if not incident_ids:
        return []
    return list(session.exec(select(Incident).where(col(Incident.id).in_(list(incident_ids)))).all())


def events(session: Session, customer_id: str, order_ids: Sequence[str]) -> list[InboundEvent]:
    """Events naming the customer or one of their orders (a carrier's scan names only the order)."""
    about = col(InboundEvent.customer_id) == customer_id
    if order_ids:
        about = or_(about, col(InboundEvent.order_id).in_(list(order_ids)))
    statement = select(InboundEvent).where(about).order_by(col(InboundEvent.id).desc())
    return list(session.exec(statement.limit(MOST)).all())


def entries(session: Session, subjects: Sequence[str]) -> list[AuditEntry]:
    """Audit entries about these subjects (the customer, their situations, their addresses' suppressions)."""
    if not subjects:
        return []
    statement = (
        select(AuditEntry).where(col(AuditEntry.subject).in_(list(subjects))).order_by(col(AuditEntry.seq).desc())
    )
    # A reply's words sit beside the chain (engine/audit/personal.py): shown here until the customer is erased.
    return personal.with_parts(session, list(session.exec(statement.limit(MOST * 4)).all()))
