"""Filtered listings of events, notices, situations and audit entries (newest first, cursor paging)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, col, select

from engine.models import AuditEntry, ChannelSuppression, InboundEvent, Notice, Situation
from engine.suppressions.addresses import normalize
from engine.vocabulary import Channel

Row = TypeVar("Row", bound=SQLModel)


@dataclass(frozen=True)
class Filters:
    source: str | None = None
    customer_id: str | None = None
    order_id: str | None = None
    situation: str | None = None
    status: str | None = None
    channel: str | None = None
    action: str | None = None
    since: datetime | None = None
    cursor: int | None = None  # return rows with a smaller id than this
    limit: int = 100
    address: str | None = None  # suppressions: an email address or phone number, in any spelling


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: int | None


def list_events(session: Session, f: Filters) -> Page:
    q = select(InboundEvent)
    q = _eq(q, InboundEvent.source, f.source)
    q = _eq(q, InboundEvent.customer_id, f.customer_id)
    q = _eq(q, InboundEvent.order_id, f.order_id)
    q = _eq(q, InboundEvent.type, f.situation)
    if f.status == "pending":
        q = q.where(col(InboundEvent.handled_at).is_(None))
    elif f.status:
        q = q.where(col(InboundEvent.outcome).startswith(f.status))
    if f.since:
        q = q.where(InboundEvent.received_at >= f.since)
    return _page(session, q, InboundEvent.id, f)


def list_notices(session: Session, f: Filters) -> Page:
    q = select(Notice)
    q = _eq(q, Notice.customer_id, f.customer_id)
    q = _eq(q, Notice.order_id, f.order_id)
    q = _eq(q, Notice.situation, f.situation)
    q = _eq(q, Notice.status, f.status)
    q = _eq(q, Notice.channel, f.channel)
    if f.since:
        q = q.where(Notice.created_at >= f.since)
    return _page(session, q, Notice.id, f)


def list_situations(session: Session, f: Filters) -> Page:
    q = select(Situation)
    q = _eq(q, Situation.customer_id, f.customer_id)
    q = _eq(q, Situation.order_id, f.order_id)
    q = _eq(q, Situation.kind, f.situation)
    q = _eq(q, Situation.status, f.status)
    if f.since:
        q = q.where(Situation.updated_at >= f.since)
    return _page(session, q, Situation.id, f)


def list_suppressions(session: Session, f: Filters) -> Page:
    q = select(ChannelSuppression)
    q = _eq(q, ChannelSuppression.channel, f.channel)
    q = _eq(q, ChannelSuppression.source, f.source)
    if f.address:
        spellings = {normalize(channel, f.address) for channel in Channel}
        q = q.where(col(ChannelSuppression.address).in_(sorted(spellings)))
    if f.since:
        q = q.where(ChannelSuppression.created_at >= f.since)
    return _page(session, q, ChannelSuppression.id, f)


def list_audit(session: Session, f: Filters) -> Page:
    q = select(AuditEntry)
    q = _eq(q, AuditEntry.action, f.action)
    if f.customer_id:
        q = q.where(col(AuditEntry.subject) == f"customer:{f.customer_id}")
    if f.since:
        q = q.where(AuditEntry.at >= f.since)
    return _page(session, q, AuditEntry.seq, f)


def _eq(q: Any, column: Any, value: str | None) -> Any:
    return q.where(col(column) == value) if value else q


def _page(session: Session, q: Any, key: Any, f: Filters) -> Page:
    if f.cursor is not None:
        q = q.where(col(key) < f.cursor)
    rows = list(session.exec(q.order_by(col(key).desc()).limit(f.limit + 1)).all())
    more = len(rows) > f.limit
    rows = rows[: f.limit]
    items = [row.model_dump(mode="json") for row in rows]
    last = rows[-1] if rows else None
    next_cursor = getattr(last, key.key) if more and last is not None else None
    return Page(items, next_cursor)
