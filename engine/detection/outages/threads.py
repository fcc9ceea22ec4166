"""Keep the threads of everyone told about an incident in line with it: its news, and its end.

A small incident is brought in line at once, in the status event's own transaction. A big one
(100,000 threads take tens of seconds) must not hold one transaction, and with it the audit chain
every other writer waits on, that long: the first page is done with the event, and the
`incidents.sync_threads` job goes on a page per transaction; `threads_due_at` says when the scheduler
should do it instead if the job is lost, or when news held back by UPDATE_EVERY may be told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlmodel import Session

from engine.clock import parse_duration
from engine.db import row_locks
from engine.db.bulk import rare_collections
from engine.detection.outages.rule import (
    KIND,
    UPDATE_EVERY,
    disruption,
    incident_subject_key,
    news,
    still_down,
    worse,
)
from engine.models import Incident, Situation
from engine.notices.composer import Subject
from engine.notices.planner import Planner
from engine.quarantine import guarded
from engine.runtime import Runtime, enqueue_after_commit
from engine.situations import repository as situations_repo
from engine.situations.service import Raise, prepare_raise, prepare_resolve, write_changes
from engine.state.services import incidents_with_threads_due
from engine.state.subscriptions import load_subscribers
from engine.vocabulary import Job, PoisonKind, Step

POISON_RETRY = timedelta(hours=1)

REPLACED = "replaced by newer news before it was sent"


def bring_threads_in_line(session: Session, rt: Runtime, incident: Incident, *, down: bool) -> None:
    """Tell those told about the incident its news (`down`), or close their threads (over): the first
    page now, in the caller's transaction; the rest by a job."""
    now = rt.clock.now()
    with rare_collections():
        first = Planner(rt, now=now)
        done = _threads_page(session, first, incident, down=down, after=0, page=rt.settings.fanout_batch)
    if done.next_after is not None:
        # The job does the rest now; if it is lost, the scheduler does once FOREWARN_RELAY_AFTER has passed.
        incident.threads_due_at = now + parse_duration(rt.settings.relay_after)
        enqueue_after_commit(session, Job.SYNC_THREADS, incident.id)
    elif done.held_until is not None:
        # News that came too soon after the last message: told once UPDATE_EVERY has passed, by the
        # scheduler, even if the status page says nothing more.
        incident.threads_due_at = earlier(incident.threads_due_at, done.held_until)


def sync_threads(rt: Runtime, incident_id: str) -> int:
    """Bring the rest of an incident's open threads in line with it, a page per transaction.

    Each page takes the incident's row lock and re-reads its state, so a status change in between is
    honoured from the next page on (back up: the rest are thanked; down again: they get the news instead).
    Pages are idempotent (a resolved thread is no longer open; an updated one has no news left), so a
    redelivered or re-run job only repeats reads. Returns the pages handled.
    """
    planner: Planner | None = None
    after: int | None = 0
    held_until: datetime | None = None
    pages = 0
    while after is not None:
        with rt.unit_of_work() as session:
            incident = session.get(Incident, incident_id, with_for_update=row_locks(session))
            if incident is None or incident.threads_due_at is None:
                break
            if planner is None:
                planner = Planner(rt, now=rt.clock.now())  # one memo of renderings for every page
            planner.now = rt.clock.now()
            with rare_collections():
                down, page = still_down(session, incident), rt.settings.fanout_batch
                done = _threads_page(session, planner, incident, down=down, after=after, page=page)
            after = done.next_after
            held_until = earlier(held_until, done.held_until)
            if after is None:
                incident.threads_due_at = held_until  # None, or when news held back may be told
            pages += 1
    return pages


def sync_overdue_threads(rt: Runtime) -> int:
    """The scheduler's step: incidents whose threads are due now (held-back news whose interval ended, or a
    big incident whose thread job looks lost)."""
    now = rt.clock.now()
    with rt.unit_of_work() as session:
        overdue = incidents_with_threads_due(session, now=now)
    pages = 0
    for incident_id in overdue:
        # An incident whose threads cannot be brought in line (engine.quarantine) is tried again an hour
        # later; the other incidents go on meanwhile.
        def later(session: Session, incident_id: str = incident_id) -> None:
            incident = session.get(Incident, incident_id)
            if incident is not None:
                incident.threads_due_at = now + POISON_RETRY

        done = guarded(
            rt,
            partial(sync_threads, rt, incident_id),
            kind=PoisonKind.INCIDENT,
            ref=incident_id,
            step=Step.SYNC,
            retry_in=POISON_RETRY,
            on_poison=later,
        )
        pages += done or 0
    return pages


def earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


@dataclass(frozen=True)
class _Page:
    next_after: int | None  # the cursor for the next page; None when this was the last
    held_until: datetime | None = None  # the earliest moment news held back by UPDATE_EVERY may go


def _threads_page(
    session: Session, planner: Planner, incident: Incident, *, down: bool, after: int, page: int
) -> _Page:
    """Update or resolve one page of open threads after id `after`."""
    key = incident_subject_key(incident.id)
    threads = situations_repo.open_about(session, subject_key=key, kind=KIND, after_id=after, limit=page)
    if not threads:
        return _Page(None)
    held_until = None
    if down:
        held_until = _tell_news(session, planner, incident, threads)
    else:
        _close(session, planner, incident, threads)
    return _Page((threads[-1].id or after) if len(threads) == page else None, held_until)


def _tell_news(session: Session, planner: Planner, incident: Incident, page: list[Situation]) -> datetime | None:
    """Tell the page's threads the news; returns when news held back for a thread told too lately may go.

    A worse severity is told at once; other news waits until UPDATE_EVERY has passed since the last message.
    """
    due = [s for s in page if planner.now - s.updated_at >= UPDATE_EVERY or worse(s.details, incident)]
    waiting = [
        s.updated_at + UPDATE_EVERY
        for s in page
        if planner.now - s.updated_at < UPDATE_EVERY and not worse(s.details, incident) and news(s.details, incident)
    ]
    reasons = {s.customer_id: reason for s in due if (reason := news(s.details, incident)) is not None}
    customers = load_subscribers(session, list(reasons))
    changes = prepare_raise(
        session,
        planner,
        disruption(incident),
        items=[Raise(customers[cid], reason) for cid, reason in reasons.items() if cid in customers],
        material=True,
        drop_deferred=REPLACED,
    )
    write_changes(session, changes)
    return min(waiting, default=None)


def _close(session: Session, planner: Planner, incident: Incident, page: list[Situation]) -> None:
    customers = load_subscribers(session, [s.customer_id for s in page])
    changes = prepare_resolve(
        session,
        planner,
        subject_key=incident_subject_key(incident.id),
        subject=Subject(incident=incident),
        customers=[customers[s.customer_id] for s in page if s.customer_id in customers],
        reason="incident resolved",
        follow_up=True,
    )
    write_changes(session, changes)
