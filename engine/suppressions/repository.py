"""Queries for channel suppressions; addresses given here are already normalised."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, and_, col, or_, select

from engine.db import insert_if_absent
from engine.models import ChannelSuppression
from engine.vocabulary import Channel


def find(session: Session, *, channel: Channel, address: str) -> ChannelSuppression | None:
    statement = select(ChannelSuppression).where(
        ChannelSuppression.channel == channel, ChannelSuppression.address == address
    )
    return session.exec(statement).first()


def find_routes(session: Session, routes: Iterable[tuple[Channel, str]]) -> list[ChannelSuppression]:
    """The suppressions among these (channel, normalised address) routes, in one query (e.g. per batch)."""
    wanted: dict[Channel, set[str]] = {}
    for channel, address in routes:
        if address:
            wanted.setdefault(channel, set()).add(address)
    clauses = [
        and_(ChannelSuppression.channel == channel, col(ChannelSuppression.address).in_(sorted(addresses)))
        for channel, addresses in wanted.items()
    ]
    if not clauses:
        return []
    return list(session.exec(select(ChannelSuppression).where(or_(*clauses))).all())


def add_if_absent(session: Session, row: ChannelSuppression) -> ChannelSuppression | None:
    """Insert unless (channel, address) is suppressed already; returns the new row, or None if it existed."""
    values = row.model_dump(exclude={"id"})
    inserted = insert_if_absent(
        session, ChannelSuppression, values, ["channel", "address"], returning=ChannelSuppression.id
    ).first()
    if inserted is None:
        return None
    return session.get(ChannelSuppression, inserted[0])


def listing(
    session: Session,
    *,
    channel: str | None,
    source: str | None,
    address: str | None,
    before_id: int | None,
    limit: int,
) -> list[ChannelSuppression]:
    """Newest first, for staff."""
    statement = select(ChannelSuppression)
    if channel:
        statement = statement.where(ChannelSuppression.channel == channel)
    if source:
        statement = statement.where(ChannelSuppression.source == source)
    if address:
        statement = statement.where(ChannelSuppression.address == address)
    if before_id is not None:
        statement = statement.where(col(ChannelSuppression.id) < before_id)
    return list(session.exec(statement.order_by(col(ChannelSuppression.id).desc()).limit(limit)).all())


def count_added_since(session: Session, *, source: str, since: datetime) -> int:
    statement = select(func.count(col(ChannelSuppression.id))).where(
        ChannelSuppression.source == source, col(ChannelSuppression.created_at) >= since
    )
    return int(session.exec(statement).one())
