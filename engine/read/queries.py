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
    e = InboundEvent
    q = _where(select(e), [(e.source, f.source), (e.customer_id, f.customer_id), (e.order_id, f.order_id)])
    q = _where(q, [(e.type, f.situation)], since=(e.received_at, f.since))
    if f.status == "pending":
        q = q.where(col(e.handled_at).is_(None))
    elif f.status:
        q = q.where(col(e.outcome).startswith(f.status))
    return _page(session, q, e.id, f)


def list_notices(session: Session, f: Filters) -> Page:
    n = Notice
    q = _where(select(n), [(n.customer_id, f.customer_id), (n.order_id, f.order_id), (n.situation, f.situation)])
    q = _where(q, [(n.status, f.status), (n.channel, f.channel)], since=(n.created_at, f.since))
    return _page(session, q, n.id, f)


def list_situations(session: Session, f: Filters) -> Page:
    s = Situation
    q = _where(select(s), [(s.customer_id, f.customer_id), (s.order_id, f.order_id), (s.kind, f.situation)])
    q = _where(q, [(s.status, f.status)], since=(s.updated_at, f.since))
    return _page(session, q, s.id, f)


def list_suppressions(session: Session, f: Filters) -> Page:
    c = ChannelSuppression
    q = _where(select(c), [(c.channel, f.channel), (c.source, f.source)], since=(c.created_at, f.since))
    if f.address:
        spellings = {normalize(channel, f.address) for channel in Channel}
        q = q.where(col(c.address).in_(sorted(spellings)))
    return _page(session, q, c.id, f)


def list_audit(session: Session, f: Filters) -> Page:
    a = AuditEntry
    subject = f"customer:{f.customer_id}" if f.customer_id else None
    q = _where(select(a), [(a.action, f.action), (a.subject, subject)], since=(a.at, f.since))
    return _page(session, q, a.seq, f)


def _where(q: Any, equal: list[tuple[Any, str | None]], *, since: tuple[Any, datetime | None] = (None, None)) -> Any:
    """`q` narrowed to rows whose columns equal the given values (those given) and, with a time, newer."""
    for column, value in equal:
        if value:
            q = q.where(col(column) == value)
    column, moment = since
    if moment is not None:
        q = q.where(col(column) >= moment)
    return q


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
