"""Keeping the promise: a check-in on a thread whose promised time has come with nothing newer sent.

Each warning records the time it told the customer they would hear again by (`notices.next_update_at`)
and the thread's situation the promise outstanding (`situations.next_update_at`, indexed). Every
scheduler tick (only the active scheduler runs it, `engine.leadership`) this step looks at the open
situations whose promise is due within `LEAD`, one thread (subject) per transaction, and for each
customer:

- the promise outstanding is the earliest one a message of the thread (out or on its way) made that no
  later message has kept yet (a promise is kept by any message of the thread sent by its time, the way
  the customer reads it): one still to come → nothing to do but remember its time. Not the latest
  time any message named: news promising a sooner time than the warning before it is kept by that
  sooner time;
- a message of the thread is still waiting to go (quiet hours, the daily limit) → look again once it has
  gone (a message held past its promise is worded again with a new one, `Composer.recompose`);
- no message carried a promise (all dropped, say) → nothing was promised;
- otherwise a **check-in** is planned, whatever the parcel is doing (out for delivery, say: the time was
  promised, so we write by it): an `update` with `check_in` set ("no news yet — still watching;
  next by …"), on the channels the warnings went out on, through the one planning path
  (`engine.notices.planner`), so it counts against the daily limit, merges like any notice and makes the
  next promise.

A resolved situation has no promise (`engine.situations.service` clears it), so nothing follows the
thank-you.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select, update
from sqlmodel.sql.expression import SelectOfScalar

from engine import audit
from engine.db import row_locks
from engine.db.bulk import table_of
from engine.models import Customer, Notice, Situation
from engine.notices.composer import subject_for
from engine.notices.planner import Planner, PlanRequest, SituationRow, write_notices
from engine.notices.threads import load_threads
from engine.policy.frequency import WINDOW
from engine.quarantine import describe
from engine.runtime import Runtime
from engine.vocabulary import LIVE, WARNING_STAGES, Channel, NoticeStatus, SituationStatus, Stage

log = logging.getLogger(__name__)

# A check-in goes this long before the promised time: "by 3:00 PM" is kept at 2:50 PM whatever the
# scheduler's beat, and a text deferred by nothing still lands in time.
LEAD = timedelta(minutes=10)
# Threads (subjects) looked at per tick; the rest wait for the next tick.
THREADS_PER_TICK = 500
# A thread that could not be looked at (its template broken, say) is looked at again this much later.
RETRY = timedelta(hours=1)


def keep_promises(rt: Runtime, *, limit: int = THREADS_PER_TICK) -> int:
    """Plan the check-ins due now; returns how many customers one was planned for."""
    now = rt.clock.now()
    with rt.unit_of_work() as session:
        subjects = list(session.exec(_due_subjects(now, limit)).all())
    planned = 0
    for subject_key in subjects:
        try:
            with rt.unit_of_work() as session:
                planned += keep_thread(session, rt, subject_key, now=now)
        except Exception as error:  # one thread's failure stops no other; logged without personal data
            kind, reason = describe(error)
            log.error("promise keeper: a thread failed (%s: %s); looked at again in an hour", kind, reason)
            with rt.unit_of_work() as session:
                session.execute(
                    update(Situation)
                    .where(*_due(now), col(Situation.subject_key) == subject_key)
                    .values(next_update_at=now + RETRY)
                )
    return planned


def keep_thread(session: Session, rt: Runtime, subject_key: str, *, now: datetime) -> int:
    """One subject's due promises, for every customer it concerns: check-ins planned and written."""
    statement = select(Situation).where(*_due(now), col(Situation.subject_key) == subject_key)
    if row_locks(session):
        statement = statement.with_for_update(skip_locked=True)  # an event resolving it now goes first
    due = list(session.exec(statement.order_by(col(Situation.id))).all())
    if not due:
        return 0
    leads = _leads(due)
    promised = _thread_promises(session, subject_key, list(leads))
    threads = load_threads(session, thread_key=subject_key, customer_ids=list(leads))
    requests: list[PlanRequest] = []
    for customer_id, situation in leads.items():
        siblings = [s for s in due if s.customer_id == customer_id]
        state = promised.get(customer_id)
        customer = session.get(Customer, customer_id)
        later = _not_yet(state, now)
        if state is None or customer is None or later is not _CHECK_IN:
            _look_again(siblings, later if isinstance(later, datetime) else None)
            continue
        not_before = _slot_after_this(state, now=now, limit=rt.settings.max_notices_per_day)
        request = PlanRequest(
            customer,
            SituationRow.of(situation),
            Stage.UPDATE,
            threads.get(customer_id, []),
            only_channels=frozenset(state.channels) or None,
            check_in=True,
            promise_not_before=not_before,
        )
        requests.append(request)
        _look_again([s for s in siblings if s is not situation], None)  # the check-in's promise is on `situation`
        situation.next_update_at = None  # until the planner records the check-in's promise
    session.flush()
    if not requests:
        return 0
    planner = Planner(rt, now=now)
    planned = planner.plan(session, requests, subject=subject_for(session, due[0]))
    write_notices(session, planned)
    audit.append_many(session, [entry for entries in planned.entries for entry in entries])
    return len(requests)


def _leads(due: list[Situation]) -> dict[str, Situation]:
    """One check-in per customer's thread: its newest situation speaks for it."""
    leads: dict[str, Situation] = {}
    for situation in due:
        current = leads.get(situation.customer_id)
        if current is None or situation.updated_at >= current.updated_at:
            leads[situation.customer_id] = situation
    return leads


_CHECK_IN = object()  # `_not_yet`'s answer when a check-in is due now


def _not_yet(state: _Promised | None, now: datetime) -> datetime | object | None:
    """Why no check-in goes now: when to look again (None: nothing outstanding), or `_CHECK_IN`."""
    if state is None or state.promise is None:
        return None  # nothing out carried a promise, or a later message kept them all: none to keep
    if state.promise > now + LEAD:
        return state.promise  # a newer message promised a later time
    if state.waiting is not None:
        return max(state.waiting, now) + LEAD  # a message still to go: look again once it has gone
    return _CHECK_IN


class _Promised:
    """What a customer's thread has promised: the earliest promise no later message has kept yet, the
    channels its warnings went on, a message waiting."""

    def __init__(self) -> None:
        self.promise: datetime | None = None
        self.channels: set[Channel] = set()
        self.waiting: datetime | None = None  # the earliest send time of a message still to go
        self.sent: dict[Channel, list[datetime]] = defaultdict(list)  # the thread's warnings, per channel
        self.made: list[tuple[datetime, datetime]] = []  # (sent at, promised by), one per warning
        self.others: set[datetime] = set()  # when the thread's messages that promised nothing go

    def settle(self) -> None:
        """A promise is kept by any message of the thread sent after it and by its time (the email's by the
        text that followed, a warning's by the thank-you); the one to keep is the earliest still open."""
        sends = sorted({at for at, _ in self.made} | self.others)
        open_ = [by for at, by in self.made if not any(at < t <= by for t in sends)]
        self.promise = min(open_, default=None)


def _slot_after_this(state: _Promised, *, now: datetime, limit: int) -> datetime | None:
    """When the daily limit (FOREWARN_MAX_NOTICES_PER_DAY) lets the thread's next message go once this
    check-in has used a slot: the check-in must not promise a time its successor would be held past."""
    if limit <= 0:
        return None
    latest: datetime | None = None
    for sent in state.sent.values():
        recent = sorted([t for t in sent if now - WINDOW < t <= now] + [now])
        if len(recent) >= limit:
            frees = recent[len(recent) - limit] + WINDOW + timedelta(minutes=1)
            latest = frees if latest is None else max(latest, frees)
    return latest


def _thread_promises(session: Session, subject_key: str, customer_ids: list[str]) -> dict[str, _Promised]:
    t = table_of(Notice).c
    rows = session.execute(
        select_columns(t.customer_id, t.stage, t.channel, t.status, t.send_at, t.next_update_at).where(
            t.customer_id.in_(customer_ids), t.thread_key == subject_key, t.status.in_([str(s) for s in LIVE])
        )
    ).all()
    found: dict[str, _Promised] = defaultdict(_Promised)
    for customer_id, stage, channel, status, send_at, promise in rows:
        state = found[customer_id]
        if status == NoticeStatus.PENDING:
            state.waiting = send_at if state.waiting is None else min(state.waiting, send_at)
        if stage in WARNING_STAGES:
            state.channels.add(Channel(channel))
            state.sent[Channel(channel)].append(send_at)
        if promise is not None:
            state.made.append((send_at, promise))
        else:
            state.others.add(send_at)
    for state in found.values():
        state.settle()
    return found


def _look_again(situations: list[Situation], at: datetime | None) -> None:
    for situation in situations:
        situation.next_update_at = at


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        col(Situation.status) == SituationStatus.OPEN,
        col(Situation.next_update_at).is_not(None),
        col(Situation.next_update_at) <= now + LEAD,
    )


def _due_subjects(now: datetime, limit: int) -> SelectOfScalar[str]:
    return select(Situation.subject_key).where(*_due(now)).distinct().limit(limit)
