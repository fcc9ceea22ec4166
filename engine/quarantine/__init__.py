"""Poison isolation: a row one step cannot process is put aside with its reason, and the step goes on.

Before, one order whose subject did not fit its column failed every scheduler tick: the due-orders scan
runs first, its batch's transaction failed, and outage announcements, thread syncs and the outbox relay
behind it never ran. Now each step that works through many rows (`Step`) processes them so that one
failure is one row's:

- `each_isolated` runs a batch in one transaction as before (nothing extra on the happy path); if it
  fails for a reason other than an outage, it runs the batch again with a savepoint per row, keeps
  every row that goes through, and hands the ones that fail to the step's `on_poison`;
- the step decides what a poisoned row becomes (an order is looked at again in an hour, an event
  after three failures is set aside, a notice fails with the reason on it) and `quarantine` records it
  in the `quarantine` table, which staff read at `GET /api/quarantine` and `/metrics` counts.

An outage (the database unreachable, a deadlock, a serialisation failure) is not poison: it is raised,
so the job or tick is retried whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import exc as sa_exc
from sqlmodel import Session, col, select, update

from engine.audit import forget_cached_head
from engine.logmask import redact
from engine.models import Quarantined
from engine.runtime import JOBS_KEY, Runtime
from engine.vocabulary import PoisonKind, Step

log = logging.getLogger(__name__)
T = TypeVar("T")

# Failures that say nothing about the row: the same work may well go through in a moment.
OUTAGES: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,  # connection lost, deadlock, serialisation failure, lock timeout
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # the connection pool
    OSError,
    MemoryError,
)


def is_outage(error: BaseException) -> bool:
    return isinstance(error, OUTAGES)


def describe(error: BaseException) -> tuple[str, str]:
    """(kind, reason) for staff, without the statement or its parameters (they hold personal data)."""
    if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
        original = error.orig
        first_line = (str(original).strip().splitlines() or [""])[0]
        return type(original).__name__[:200], redact(first_line)[:1000]
    return type(error).__name__[:200], redact(str(error))[:1000]


@dataclass
class Isolation:
    error: Exception | None = None


@contextmanager
def isolated(session: Session) -> Iterator[Isolation]:
    """A savepoint: what the block writes is kept if it ends well and undone (jobs it queued included)
    if it raises anything but an outage, which is then in `.error` instead of raised."""
    outcome = Isolation()
    jobs = list(session.info.get(JOBS_KEY, []))
    savepoint = session.begin_nested()
    try:
        yield outcome
        savepoint.commit()
    except Exception as error:
        if is_outage(error):
            raise
        if savepoint.is_active:
            savepoint.rollback()
        session.info[JOBS_KEY] = jobs
        forget_cached_head(session)  # the audit entries written in the savepoint are gone
        outcome.error = error


def each_isolated(
    rt: Runtime,
    items: Sequence[T],
    work: Callable[[Session, T], None],
    on_poison: Callable[[Session, T, Exception], None],
    on_done: Callable[[Session, list[T]], None] | None = None,
) -> int:
    """Do `work` for every item in one transaction; if that fails (not an outage), again with a savepoint
    per item, handing each item that fails alone to `on_poison` in the same transaction. `on_done` gets
    the items that went through, in the same transaction. Returns how many items were poison."""
    try:
        with rt.unit_of_work() as session:
            for item in items:
                work(session, item)
            if on_done is not None:
                on_done(session, list(items))
        return 0
    except Exception as error:
        if is_outage(error):
            raise
    passed: list[T] = []
    with rt.unit_of_work() as session:
        for item in items:
            with isolated(session) as outcome:
                work(session, item)
            if outcome.error is None:
                passed.append(item)
            else:
                on_poison(session, item, outcome.error)
        if on_done is not None:
            on_done(session, passed)
    return len(items) - len(passed)


def guarded(
    rt: Runtime,
    run: Callable[[], T],
    *,
    kind: PoisonKind,
    ref: str | int,
    step: Step,
    retry_in: timedelta | None = None,
    on_poison: Callable[[Session], None] | None = None,
) -> T | None:
    """`run()`, or None once it failed for a reason other than an outage: then the row is quarantined
    (and `on_poison` says what becomes of it) in a transaction of its own."""
    try:
        return run()
    except Exception as error:
        if is_outage(error):
            raise
        with rt.unit_of_work() as session:
            quarantine(session, kind=kind, ref=ref, step=step, error=error, at=rt.clock.now(), retry_in=retry_in)
            if on_poison is not None:
                on_poison(session)
        return None


def clear(session: Session, *, kind: PoisonKind, refs: Sequence[str | int], step: Step, at: datetime) -> None:
    """These rows went through `step` now: whatever held them up is over."""
    if refs:
        session.exec(
            update(Quarantined)
            .where(
                col(Quarantined.kind) == kind,
                col(Quarantined.step) == step,
                col(Quarantined.ref).in_([str(r)[:200] for r in refs]),
                col(Quarantined.cleared_at).is_(None),
            )
            .values(cleared_at=at, retry_at=None)
        )


def quarantine(
    session: Session,
    *,
    kind: PoisonKind,
    ref: str | int,
    step: Step,
    error: BaseException,
    at: datetime,
    retry_in: timedelta | None = None,
) -> Quarantined:
    """Record that `step` could not process this row (once per row and step; failures are counted)."""
    name, reason = describe(error)
    key = str(ref)[:200]
    row = session.exec(
        select(Quarantined).where(Quarantined.kind == kind, Quarantined.ref == key, Quarantined.step == step)
    ).first()
    if row is None:
        row = Quarantined(kind=kind, ref=key, step=step, error=name, reason=reason, first_at=at, last_at=at)
    else:
        row.failures += 1
        row.error, row.reason, row.last_at, row.cleared_at = name, reason, at, None
    row.retry_at = at + retry_in if retry_in is not None else None
    session.add(row)
    session.flush()
    # Ids and the kind of error only: the reason may quote what the row holds.
    log.warning("%s %s could not be processed at the %s step (%s); quarantined", kind, key, step, name)
    return row


def failures(session: Session, *, kind: PoisonKind, ref: str | int, step: Step) -> int:
    """How many times this row failed this step before (0: never, or it went through since)."""
    row = session.exec(
        select(Quarantined).where(
            Quarantined.kind == kind,
            Quarantined.ref == str(ref)[:200],
            Quarantined.step == step,
            col(Quarantined.cleared_at).is_(None),
        )
    ).first()
    return row.failures if row is not None else 0
