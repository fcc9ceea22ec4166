"""Finding notices: by customer, address, order, incident, situation, stage, channel, status and time,
newest first, a keyset page at a time.

Every filter is an equality on an indexed column or a time range, and pages go by id (`id < cursor`),
so a page costs an index range however deep it is and however many notices there are
(`python -m bench.notices`: a million rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from engine.models import Customer, Notice
from engine.read.queries import Page, narrow, page_by_key, page_by_time
from engine.suppressions.addresses import normalize_email, normalize_phone


@dataclass(frozen=True)
class NoticeSearch:
    customer_id: str | None = None
    email: str | None = None  # exact address, any case: notices sent to it, and every notice of its customers
    phone: str | None = None  # exact number, any punctuation: likewise
    order_id: str | None = None
    incident_id: str | None = None
    situation: str | None = None
    stage: str | None = None
    channel: str | None = None
    status: str | None = None
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before; a window with an end is listed in time order
    cursor: int | None = None  # return notices with a smaller id than this
    limit: int = 100


def search_notices(session: Session, q: NoticeSearch) -> Page:
    n = Notice
    statement = narrow(
        select(n),
        [
            (n.customer_id, q.customer_id),
            (n.order_id, q.order_id),
            (n.incident_id, q.incident_id),
            (n.situation, q.situation),
            (n.stage, q.stage),
            (n.channel, q.channel),
            (n.status, q.status),
        ],
        since=(n.created_at, q.since),
        until=(n.created_at, q.until),
    )
    if q.email:
        spellings = sorted({q.email.strip(), normalize_email(q.email)})
        statement = statement.where(_to_address(spellings, customers_with(session, col(Customer.email), spellings)))
    if q.phone:
        spellings = sorted({q.phone.strip(), normalize_phone(q.phone)})
        statement = statement.where(_to_address(spellings, customers_with(session, col(Customer.phone), spellings)))
    if q.until is not None:
        return page_by_time(session, statement, n.created_at, n.id, cursor=q.cursor, limit=q.limit)
    return page_by_key(session, statement, n.id, cursor=q.cursor, limit=q.limit)


def _to_address(spellings: list[str], customer_ids: list[str]) -> Any:
    """Sent to this address, or belonging to a customer who has it now (their other channel's notices too).

    The customers are looked up first, so the database sees two index lookups joined by OR (a bitmap OR
    on PostgreSQL) rather than a subquery it might run once per notice."""
    to_address = col(Notice.recipient).in_(spellings)
    return or_(to_address, col(Notice.customer_id).in_(customer_ids)) if customer_ids else to_address


def customers_with(session: Session, column: Any, spellings: list[str]) -> list[str]:
    """Customers whose email (or phone) is exactly one of these spellings: an indexed lookup."""
    return list(session.exec(select(Customer.id).where(column.in_(spellings)).limit(100)).all())
