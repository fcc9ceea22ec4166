"""A customer's thread about one order or incident: what they were told, and how a follow-up answers it.

Every decision about a thread's next notice reads it through here, for one customer or a fan-out's
thousands alike:

- **told**: a warning in the thread is out or on its way, so the next warning is an `update`. A warning
  merged into another message (the daily limit) counts as that message did: a digest that went out
  told the customer.
- **warned**: the channels a warning actually reached (sent, or being sent), directly or inside a
  digest; the thread's thank-you goes to exactly those.
- **warned since**: when the thread's first warning since its last thank-you went out: how long the
  customer has been waiting on this matter, whatever the situation is called now (a parcel late, then
  lost), which is what a promise's wait grows with (engine/promises).
- **first email**: the thread's first email that went out (or will) under its own Message-ID; a
  follow-up answers it by headers (`In-Reply-To`, `References`). A dropped, failed or merged email never
  arrived under its Message-ID, so nothing answers it.

A follow-up's subject is its own news, not "Re: <the first subject>": the first subject's news may no
longer be true. Thunderbird and Apple Mail keep the conversation by the headers; Gmail and Outlook,
which also want the same subject, show it as a new one (docs/delivery.md §8).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select as select_columns
from sqlmodel import Session

from engine.db.bulk import table_of
from engine.models import Notice
from engine.vocabulary import LIVE, REACHED, WARNING_STAGES, Channel, NoticeStatus, Stage


@dataclass
class ThreadNotice:
    """What deciding needs to know of a notice already in the customer's thread."""

    id: int
    stage: Stage
    channel: Channel
    status: NoticeStatus
    message_id: str | None
    deferred: bool
    subject: str | None  # an email's subject
    reached: NoticeStatus  # as the customer experienced it: a merged notice takes its carrier's status
    send_at: datetime | None = None


Thread = Sequence[ThreadNotice]


def load_threads(session: Session, *, thread_key: str, customer_ids: Collection[str]) -> dict[str, list[ThreadNotice]]:
    """Each customer's notices in the thread, oldest first: one query, and one more for merged notices'
    carriers when there are any.

    Filtered in SQL on customer ids alone and by thread here: a fan-out's own rows make `thread_key` the
    least selective column there is, and a planner whose statistics predate the fan-out would otherwise
    read every row of the incident for each batch.
    """
    threads: dict[str, list[ThreadNotice]] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return threads
    session.flush()  # a status changed on an ORM row in this transaction must be read as it now is
    t = table_of(Notice).c
    rows = session.execute(
        select_columns(
            t.id,
            t.customer_id,
            t.thread_key,
            t.stage,
            t.channel,
            t.status,
            t.message_id,
            t.deferred,
            t.subject,
            t.merged_into,
            t.send_at,
        )
        .where(t.customer_id.in_(list(customer_ids)))
        .order_by(t.id)
    ).all()
    merged: dict[int, list[ThreadNotice]] = {}
    for notice_id, customer_id, key, stage, channel, status, message_id, deferred, subject, carrier, at in rows:
        if key != thread_key:
            continue
        notice = ThreadNotice(notice_id, stage, channel, status, message_id, deferred, subject, status, at)
        threads[customer_id].append(notice)
        if status == NoticeStatus.MERGED:
            notice.reached = NoticeStatus.DROPPED  # until its carrier says otherwise
            if carrier is not None:
                merged.setdefault(carrier, []).append(notice)
    if merged:
        carriers = session.execute(select_columns(t.id, t.status).where(t.id.in_(list(merged)))).all()
        for carrier_id, status in carriers:
            for notice in merged[carrier_id]:
                notice.reached = status
    return threads


def told(thread: Thread) -> bool:
    """A warning in this thread is out or on its way (the next warning is then an `update`)."""
    return any(n.stage in WARNING_STAGES and n.reached in LIVE for n in thread)


def warned_since(thread: Thread) -> datetime | None:
    """When the first warning since the thread's last thank-you reached the customer (None: none has)."""
    since: datetime | None = None
    for notice in reversed(thread):
        if notice.stage == Stage.RESOLVED and notice.reached in LIVE:
            break
        if notice.stage in WARNING_STAGES and notice.reached in LIVE and notice.send_at is not None:
            since = notice.send_at if since is None else min(since, notice.send_at)
    return since


def last_sent(thread: Thread) -> datetime | None:
    """When the thread's latest message that reached the customer went (None: none has)."""
    times = [n.send_at for n in thread if n.reached in LIVE and n.send_at is not None]
    return max(times, default=None)


def next_warning_stage(thread: Thread) -> Stage:
    return Stage.UPDATE if told(thread) else Stage.INITIAL


def warned_channels(thread: Thread) -> frozenset[Channel]:
    """The channels a warning reached the customer on: where the thread's thank-you goes."""
    return frozenset(n.channel for n in thread if n.stage in WARNING_STAGES and n.reached in REACHED)


def thanked(thread: Thread) -> bool:
    """The thread's `resolved` follow-up to its latest warning is out or on its way (it goes once per spell:
    a matter that came back and was warned about again is over again, and the customer was told it would
    hear from us)."""
    last = max((i for i, n in enumerate(thread) if n.stage in WARNING_STAGES and n.reached in LIVE), default=-1)
    return any(n.stage == Stage.RESOLVED and n.status in LIVE for n in thread[last + 1 :])


def unsent_warnings(thread: Thread, *, deferred_only: bool = False) -> list[ThreadNotice]:
    """Warnings still waiting to go out (only those held for quiet hours, with `deferred_only`)."""
    return [
        n
        for n in thread
        if n.stage in WARNING_STAGES and n.status == NoticeStatus.PENDING and (n.deferred or not deferred_only)
    ]


def first_email(thread: Thread) -> ThreadNotice | None:
    """The thread's first email that went out, or will, under its own Message-ID."""
    return next((n for n in thread if n.channel == Channel.EMAIL and n.message_id and n.status in LIVE), None)
