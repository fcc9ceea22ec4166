"""Queries for raw inbound events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select, update

from engine.models import InboundEvent


def insert_if_new(session: Session, row: dict[str, Any]) -> int | None:
    """Insert unless (source, external_id) exists; the new id, or None for a repeat delivery."""
    statement = _INSERT_IF_NEW[session.get_bind().dialect.name == "postgresql"]
    # On the connection, not through the ORM's bulk-insert machinery: a third of the cost per event.
    new_id: int | None = session.connection().execute(statement, row).scalar_one_or_none()
    return new_id


# Built once with bound parameters, so SQLAlchemy compiles it once per dialect, not once per event.
_INSERT_IF_NEW = {
    is_pg: (postgresql.insert if is_pg else sqlite.insert)(InboundEvent)
    .on_conflict_do_nothing(index_elements=["source", "external_id"])
    .returning(col(InboundEvent.id))
    for is_pg in (False, True)
}


def due_unhandled(session: Session, *, now: datetime, limit: int) -> list[int]:
    """Events not applied yet whose next attempt is due, oldest first."""
    statement = (
        select(InboundEvent.id)
        .where(col(InboundEvent.handled_at).is_(None), InboundEvent.next_attempt_at <= now)
        .order_by(col(InboundEvent.next_attempt_at), col(InboundEvent.id))
        .limit(limit)
    )
    return [i for i in session.exec(statement).all() if i is not None]


def postpone(session: Session, event_ids: list[int], *, until: datetime) -> None:
    if event_ids:
        session.exec(update(InboundEvent).where(col(InboundEvent.id).in_(event_ids)).values(next_attempt_at=until))
