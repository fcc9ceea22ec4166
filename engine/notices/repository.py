"""Queries for notices (the outbox)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, or_, select, update

from engine.models import Notice
from engine.policy.frequency import UNCAPPED_STAGES
from engine.vocabulary import LIVE, WARNING_STAGES, Channel, NoticeStatus, SituationKind


def texted_numbers(session: Session, numbers: Collection[str], *, excluding: Collection[int] = ()) -> set[str]:
    """The numbers among `numbers` that already have a live text (pending, sending or sent), not counting
    the notices `excluding` (ones being dropped or merged right now).

    Filtered in SQL on the recipient alone (see `engine.notices.threads.load_threads` for why)."""
    if not numbers:
        return set()
    rows = session.exec(
        select(Notice.id, Notice.recipient, Notice.channel, Notice.status).where(
            col(Notice.recipient).in_(list(numbers))
        )
    ).all()
    skip = set(excluding)
    return {
        recipient
        for notice_id, recipient, channel, status in rows
        if channel == Channel.SMS and status in LIVE and notice_id not in skip
    }


def due_for_relay(session: Session, *, now: datetime, enqueued_before: datetime | None, limit: int) -> list[int]:
    """Pending notices that are due and were never queued, or were queued before `enqueued_before` (a lost
    job; None: do not look for lost jobs)."""
    never_queued = col(Notice.enqueued_at).is_(None)
    statement = (
        select(Notice.id)
        .where(
            Notice.status == NoticeStatus.PENDING,
            Notice.send_at <= now,
            never_queued if enqueued_before is None else or_(never_queued, col(Notice.enqueued_at) < enqueued_before),
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


def sent_times(session: Session, *, customer_id: str, channel: str, since: datetime) -> list[datetime]:
    """When each message that counts against the daily cap went out on this channel, newer than `since`.

    Sent, or claimed by a worker right now (it is going out); `resolved` follow-ups do not count.
    """
    statement = select(CAP_MOMENT).where(
        Notice.customer_id == customer_id, Notice.channel == channel, *counted_against_cap(since)
    )
    return [moment for moment in session.exec(statement).all() if moment is not None]


# When a message used its slot: sent, or claimed by a worker right now (it is going out).
CAP_MOMENT = func.coalesce(col(Notice.sent_at), col(Notice.claimed_at))


def counted_against_cap(since: datetime) -> tuple[ColumnElement[bool], ...]:
    """The conditions for a message that uses a daily-cap slot after `since` (single and batch claims)."""
    return (
        col(Notice.status).in_((NoticeStatus.SENT, NoticeStatus.SENDING)),
        col(Notice.stage).not_in(sorted(UNCAPPED_STAGES)),
        since < CAP_MOMENT,
    )


def merge_candidate(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """The conditions for a pending warning that the daily cap may merge with others due at `now` (single
    and batch claims): never attempted, since a retry keeps its own message and merging stays one level
    deep; a digest is already merged."""
    return (
        col(Notice.status) == NoticeStatus.PENDING,
        col(Notice.stage).in_(sorted(WARNING_STAGES)),
        col(Notice.situation) != SituationKind.DIGEST,
        col(Notice.attempts) == 0,
        col(Notice.send_at) <= now,
    )


def merged_into(session: Session, carrier_id: int) -> list[Notice]:
    """The notices whose news went out inside this one, oldest first."""
    statement = select(Notice).where(Notice.merged_into == carrier_id).order_by(col(Notice.id))
    return list(session.exec(statement).all())
