"""Filtered listings of events, situations and suppressions (newest first, cursor paging), and the paging
every listing shares (notices: `engine.read.notice_search`, audit: `engine.read.audit_log`, the quarantine:
`engine.read.quarantine`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, col, or_, select

from engine.models import ChannelSuppression, InboundEvent, Situation
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
    q = narrow(select(e), [(e.source, f.source), (e.customer_id, f.customer_id), (e.order_id, f.order_id)])
    q = narrow(q, [(e.type, f.situation)], since=(e.received_at, f.since))
    if f.status == "pending":
        q = q.where(col(e.handled_at).is_(None))
    elif f.status:
        q = q.where(col(e.outcome).startswith(f.status))
    return keyset_page(session, q, e.id, f)


def list_situations(session: Session, f: Filters) -> Page:
    s = Situation
    q = narrow(select(s), [(s.customer_id, f.customer_id), (s.order_id, f.order_id), (s.kind, f.situation)])
    q = narrow(q, [(s.status, f.status)], since=(s.updated_at, f.since))
    return keyset_page(session, q, s.id, f)


def list_suppressions(session: Session, f: Filters) -> Page:
    c = ChannelSuppression
    q = narrow(select(c), [(c.channel, f.channel), (c.source, f.source)], since=(c.created_at, f.since))
    if f.address:
        spellings = {normalize(channel, f.address) for channel in Channel}
        q = q.where(col(c.address).in_(sorted(spellings)))
    return keyset_page(session, q, c.id, f)


def narrow(
    q: Any,
    equal: list[tuple[Any, str | None]],
    *,
    since: tuple[Any, datetime | None] = (None, None),
    until: tuple[Any, datetime | None] = (None, None),
) -> Any:
    """`q` narrowed to rows whose columns equal the given values (those given) and, with times, no older
    than `since` and older than `until`."""
    for column, value in equal:
        if value:
            q = q.where(col(column) == value)
    column, moment = since
    if moment is not None:
        q = q.where(col(column) >= moment)
    column, moment = until
    if moment is not None:
        q = q.where(col(column) < moment)
    return q


def keyset_page(session: Session, q: Any, key: Any, f: Filters) -> Page:
    return page_by_key(session, q, key, cursor=f.cursor, limit=f.limit)


Item = Callable[[Any], dict[str, Any]]


def _as_json(row: Any) -> dict[str, Any]:
    return dict(row.model_dump(mode="json"))


def page_by_key(session: Session, q: Any, key: Any, *, cursor: int | None, limit: int, item: Item = _as_json) -> Page:
    """Newest first by `key` (an integer column), rows below `cursor`: keyset paging, so page 500 costs
    what page 1 does (an index range from the cursor down), where OFFSET would read every row before it.
    `item` is a row as the page lists it (its columns as JSON unless given)."""
    if cursor is not None:
        q = q.where(col(key) < cursor)
    rows = list(session.exec(q.order_by(col(key).desc()).limit(limit + 1)).all())
    return _page_of(rows, key, limit, item)


def _page_of(rows: list[Any], key: Any, limit: int, item: Item = _as_json) -> Page:
    more = len(rows) > limit
    rows = rows[:limit]
    items = [item(row) for row in rows]
    last = rows[-1] if rows else None
    next_cursor = getattr(last, key.key) if more and last is not None else None
    return Page(items, next_cursor)


def page_by_time(session: Session, q: Any, moment: Any, key: Any, *, cursor: int | None, limit: int) -> Page:
    """Newest first by (`moment`, `key`), rows after the `cursor` row: for a window that ends in the past.

    Ids grow with time, but the database cannot know that: asked for rows of a day two months ago in id
    order, PostgreSQL walks the primary key down from today (580 ms on a million notices). In time order
    the index on `moment` starts at the window's end. The cursor stays the row's key: its time is looked up.
    """
    if cursor is not None:
        at = session.exec(select(moment).where(col(key) == cursor)).first()
        if at is None:
            return Page([], None)
        q = q.where(col(moment) <= at, or_(col(moment) < at, col(key) < cursor))
    rows = list(session.exec(q.order_by(col(moment).desc(), col(key).desc()).limit(limit + 1)).all())
    return _page_of(rows, key, limit)
