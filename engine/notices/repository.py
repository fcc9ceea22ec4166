"""Queries for notices (the outbox)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, or_, select, update

from engine.db import row_locks
from engine.models import Customer, DeliveryAttempt, Notice
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


def lock_for_claim(session: Session, notice_ids: Sequence[int]) -> list[Notice]:
    """These notices, locked for claiming on PostgreSQL: their customers first, then the notices, the order
    every writer takes, so two claims never deadlock. Found by primary key alone (see `load_threads`)."""
    if row_locks(session):
        customers = session.exec(select(Notice.customer_id).where(col(Notice.id).in_(notice_ids))).all()
        session.exec(
            select(Customer.id)
            .where(col(Customer.id).in_(sorted(set(customers))))
            .order_by(col(Customer.id))
            .with_for_update()
        ).all()
    statement = select(Notice).where(col(Notice.id).in_(notice_ids))
    if row_locks(session):
        statement = statement.with_for_update()
    return list(session.exec(statement).all())


def cap_usage(session: Session, customer_ids: Sequence[str], *, since: datetime) -> list[tuple[str, str, int]]:
    """(customer, channel, messages that used a daily-limit slot after `since`) for these customers."""
    rows = session.exec(
        select(Notice.customer_id, Notice.channel, func.count())
        .where(col(Notice.customer_id).in_(customer_ids), *counted_against_cap(since))
        .group_by(col(Notice.customer_id), col(Notice.channel))
    ).all()
    return [(customer, channel, int(count)) for customer, channel, count in rows]


def merge_candidate_counts(
    session: Session, customer_ids: Sequence[str], *, now: datetime
) -> list[tuple[str, str, str, int]]:
    """(customer, channel, recipient, warnings due that the daily limit may merge) for these customers."""
    rows = session.exec(
        select(Notice.customer_id, Notice.channel, Notice.recipient, func.count())
        .where(col(Notice.customer_id).in_(customer_ids), *merge_candidate(now))
        .group_by(col(Notice.customer_id), col(Notice.channel), col(Notice.recipient))
    ).all()
    return [(customer, channel, recipient, int(count)) for customer, channel, recipient, count in rows]


def merge_candidates_with(session: Session, notice: Notice, *, now: datetime) -> list[Notice]:
    """Warnings to the same customer and address on the same channel as `notice` that are due now, oldest
    first; locked on PostgreSQL."""
    statement = (
        select(Notice)
        .where(
            Notice.customer_id == notice.customer_id,
            Notice.channel == notice.channel,
            Notice.recipient == notice.recipient,
            *merge_candidate(now),
        )
        .order_by(col(Notice.id))
    )
    if row_locks(session):
        statement = statement.with_for_update()
    return list(session.exec(statement).all())


def by_provider_id(session: Session, provider_id: str) -> Notice | None:
    """The notice a provider knows by this id (its callbacks name it), locked on PostgreSQL."""
    statement = select(Notice).where(Notice.provider_id == provider_id).order_by(col(Notice.id)).limit(1)
    if row_locks(session):
        statement = statement.with_for_update()
    return session.exec(statement).first()


def has_notice(session: Session, *, situation_id: int, stage: str, channel: Channel) -> bool:
    """Whether any notice (in any status) exists for this situation, stage and channel."""
    statement = select(Notice.id).where(
        Notice.situation_id == situation_id, Notice.stage == stage, Notice.channel == channel
    )
    return session.exec(statement.limit(1)).first() is not None


def lock_sending(session: Session, notice_ids: Sequence[int]) -> dict[int, datetime | None]:
    """Of these notices, those still `sending` (locked on PostgreSQL), with their claim's time."""
    if not notice_ids:
        return {}
    statement = select(Notice.id, Notice.claimed_at).where(
        col(Notice.id).in_(sorted(notice_ids)), Notice.status == NoticeStatus.SENDING
    )
    if row_locks(session):
        statement = statement.with_for_update()
    return {notice_id: claimed_at for notice_id, claimed_at in session.exec(statement).all() if notice_id is not None}


def sending_claimed_before(session: Session, *, before: datetime, limit: int) -> list[Notice]:
    """Notices claimed before then and still `sending`, oldest claim first (locked on PostgreSQL)."""
    statement = (
        select(Notice)
        .where(Notice.status == NoticeStatus.SENDING, col(Notice.claimed_at) < before)
        .order_by(col(Notice.claimed_at))
        .limit(limit)
    )
    if row_locks(session):
        statement = statement.with_for_update(skip_locked=True)
    return list(session.exec(statement).all())


def sending_among(session: Session, notice_ids: Sequence[int]) -> list[Notice]:
    """Of these notices, those `sending` now."""
    if not notice_ids:
        return []
    statement = select(Notice).where(col(Notice.id).in_(sorted(notice_ids)), Notice.status == NoticeStatus.SENDING)
    return list(session.exec(statement).all())


def ledger_results(session: Session, notices: Sequence[Notice]) -> dict[int, DeliveryAttempt]:
    """Each notice's attempt written during its current claim (engine/delivery/ledger.py), if any."""
    claims = {n.id: n.claimed_at for n in notices if n.id is not None and n.claimed_at is not None}
    if not claims:
        return {}
    rows = session.exec(
        select(DeliveryAttempt)
        .where(col(DeliveryAttempt.notice_id).in_(sorted(claims)))
        .order_by(col(DeliveryAttempt.id))
    ).all()
    found: dict[int, DeliveryAttempt] = {}
    for row in rows:
        claimed_at = claims[row.notice_id]
        if claimed_at is not None and row.attempted_at >= claimed_at:
            found[row.notice_id] = row
    return found


def stuck_sending(session: Session, *, claimed_before: datetime) -> int:
    """Notices claimed before then and still unconfirmed (a worker died between sending and recording)."""
    statement = select(func.count(col(Notice.id))).where(
        Notice.status == NoticeStatus.SENDING, col(Notice.claimed_at) < claimed_before
    )
    return int(session.exec(statement).one())
