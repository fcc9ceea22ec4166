"""Run the background steps synchronously, as a worker would, so tests can assert on outcomes."""

from __future__ import annotations

from sqlmodel import Session, col, select

from engine.models import InboundEvent
from engine.notices.delivery import deliver_due
from engine.processing import apply_event
from engine.runtime import Runtime


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
