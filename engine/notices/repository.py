"""Queries for notices (the outbox)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlmodel import Session, col, or_, select, update

from engine.db import row_locks
from engine.models import Notice, NoticeStatus

WARNING_STAGES = ("initial", "update")
LIVE = (NoticeStatus.PENDING, NoticeStatus.SENDING, NoticeStatus.SENT)


def in_thread(session: Session, *, customer_id: str, thread_key: str) -> list[Notice]:
    statement = (
        select(Notice)
        .where(Notice.customer_id == customer_id, Notice.thread_key == thread_key)
        .order_by(col(Notice.id))
    )
    return list(session.exec(statement).all())


def has_texted(session: Session, *, recipient: str, excluding: Collection[int] = ()) -> bool:
    statement = select(Notice.id).where(
        Notice.channel == "sms", Notice.recipient == recipient, col(Notice.status).in_(LIVE)
    )
    if excluding:
        statement = statement.where(col(Notice.id).not_in(list(excluding)))
    return session.exec(statement.limit(1)).first() is not None


def get_for_claim(session: Session, notice_id: int) -> Notice | None:
    return session.get(Notice, notice_id, with_for_update=row_locks(session))


def due_for_relay(session: Session, *, now: datetime, enqueued_before: datetime, limit: int) -> list[int]:
    """Pending notices that are due and were never queued, or were queued long ago (lost job)."""
    statement = (
        select(Notice.id)
        .where(
            Notice.status == NoticeStatus.PENDING,
            Notice.send_at <= now,
            or_(col(Notice.enqueued_at).is_(None), col(Notice.enqueued_at) < enqueued_before),
        )
        .order_by(col(Notice.send_at))
        .limit(limit)
    )
    return [i for i in session.exec(statement).all() if i is not None]


def mark_enqueued(session: Session, notice_ids: list[int], *, now: datetime) -> None:
    if notice_ids:
        session.exec(update(Notice).where(col(Notice.id).in_(notice_ids)).values(enqueued_at=now))


def due_pending(session: Session, *, now: datetime, limit: int) -> list[Notice]:
    statement = (
        select(Notice)
        .where(Notice.status == NoticeStatus.PENDING, Notice.send_at <= now)
        .order_by(col(Notice.send_at), col(Notice.id))
        .limit(limit)
    )
    return list(session.exec(statement).all())
