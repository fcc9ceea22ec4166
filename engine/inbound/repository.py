"""Queries for raw inbound events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select, update

from engine.models import InboundEvent, Order


def insert_if_new(session: Session, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Insert each row unless its (source, external_id) exists; the new ids by (source, external_id).

    One statement for all of them (SQLAlchemy's "insertmanyvalues": a multi-row INSERT), so a group of
    webhooks costs one round trip, not one per event. A key that is already stored, or that comes twice
    in `rows`, is inserted once at most and is absent from the answer for its repeats' sake.
    """
    if not rows:
        return {}
    statement = _INSERT_IF_NEW[session.get_bind().dialect.name == "postgresql"]
    # On the connection, not through the ORM's bulk-insert machinery: a third of the cost per event.
    inserted = session.connection().execute(statement, list(rows))
    return {(str(source), external_id): new_id for new_id, source, external_id in inserted if new_id is not None}


# Built once with bound parameters, so SQLAlchemy compiles it once per dialect, not once per event.
_INSERT_IF_NEW = {
    is_pg: (postgresql.insert if is_pg else sqlite.insert)(InboundEvent)
    .on_conflict_do_nothing(index_elements=["source", "external_id"])
    .returning(col(InboundEvent.id), col(InboundEvent.source), col(InboundEvent.external_id))
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


def earlier_in_flight(session: Session, row: InboundEvent, *, since: datetime) -> int | None:
    """An earlier event about the same customer or order, received since `since`, that no worker has
    tried yet: it is queued or being applied right now. None when `row` may go first.

    A shipment's event names only its order, so the order's customer counts too: a scan must not be
    judged against a customer whose contact details are still being written by another worker.
    """
    same: list[Any] = []
    if row.customer_id is not None:
        same.append(col(InboundEvent.customer_id) == row.customer_id)
    if row.order_id is not None:
        same.append(col(InboundEvent.order_id) == row.order_id)
        customer_of_order = select(Order.customer_id).where(Order.id == row.order_id).scalar_subquery()
        same.append(col(InboundEvent.customer_id) == customer_of_order)
    if not same:
        return None
    statement = (
        select(InboundEvent.id)
        .where(
            col(InboundEvent.id) < row.id,
            col(InboundEvent.handled_at).is_(None),
            InboundEvent.attempts == 0,
            InboundEvent.received_at >= since,
            or_(*same),
        )
        .limit(1)
    )
    return session.exec(statement).first()
