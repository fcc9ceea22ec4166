"""Queries for channel suppressions; addresses given here are already normalised."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, and_, col, or_, select

from engine.db import insert_if_absent
from engine.models import ChannelSuppression


def find(session: Session, *, channel: str, address: str) -> ChannelSuppression | None:
    statement = select(ChannelSuppression).where(
        ChannelSuppression.channel == channel, ChannelSuppression.address == address
    )
    return session.exec(statement).first()


def find_any(session: Session, routes: list[tuple[str, str]]) -> dict[str, ChannelSuppression]:
    """The suppressions among these (channel, address) pairs, by channel; one query for all of them."""
    if not routes:
        return {}
    statement = select(ChannelSuppression).where(
        or_(*(and_(ChannelSuppression.channel == c, ChannelSuppression.address == a) for c, a in routes))
    )
    return {row.channel: row for row in session.exec(statement).all()}


def find_addresses(session: Session, *, emails: list[str], phones: list[str]) -> list[ChannelSuppression]:
    """The suppressions among these email addresses and phone numbers (one query, e.g. per fan-out batch)."""
    clauses = []
    if emails:
        clauses.append(and_(ChannelSuppression.channel == "email", col(ChannelSuppression.address).in_(emails)))
    if phones:
        clauses.append(and_(ChannelSuppression.channel == "sms", col(ChannelSuppression.address).in_(phones)))
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
