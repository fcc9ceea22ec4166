"""A big incident's threads are updated and resolved a page per transaction, never in one long one.

The first page is handled in the status event's own transaction (a small incident is done at once);
the rest wait on `incidents.threads_due_at` for the `incidents.sync_threads` job, or for the scheduler
when that job was lost. Pages here are 3 threads, so 7 customers make three pages.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, func, select
from support.outage_story import run_for, status, subscribers

from engine.audit import verify_chain
from engine.clock import SimulatedClock
from engine.config import Settings
from engine.detection.outages.threads import sync_threads
from engine.models import Incident, Notice, Situation
from engine.runtime import Runtime
from engine.scheduler import tick
from engine.vocabulary import Job

CUSTOMERS = [f"C{i}" for i in range(1, 8)]
Jobs = list[tuple[str, tuple[object, ...]]]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"fanout_batch": 3})  # pages of 3 threads


@pytest.fixture
def jobs(rt: Runtime) -> Jobs:
    """The jobs the engine asked for (the test runtime has no broker: nothing runs them by itself)."""
    asked: Jobs = []

    class Recorder:
        def send(self, actor_name: str, *args: object, delay: timedelta | None = None) -> None:
            asked.append((actor_name, args))

    rt.dispatcher = Recorder()  # the runtime's seam: where its jobs go
    return asked


def _told(rt: Runtime, clock: SimulatedClock) -> None:
    subscribers(rt, "checkout", *CUSTOMERS)
    status(rt, "checkout", "major_outage")
    run_for(rt, clock, timedelta(minutes=12))


def _threads(rt: Runtime) -> dict[str, int]:
    with Session(rt.db) as session:
        rows = session.exec(select(Situation.status, func.count(col(Situation.id))).group_by(Situation.status)).all()
    return {str(s): n for s, n in rows}


def _stages(rt: Runtime) -> dict[str, int]:
    with Session(rt.db) as session:
        rows = session.exec(select(Notice.stage, func.count(col(Notice.id))).group_by(Notice.stage)).all()
    return dict(rows)


def _due(rt: Runtime) -> object:
    with Session(rt.db) as session:
        incident = session.get(Incident, "INC-7")
        assert incident is not None
        return incident.threads_due_at


def test_the_all_clear_goes_a_page_at_a_time(
    rt: Runtime, clock: SimulatedClock, jobs: list[tuple[str, tuple[object, ...]]]
) -> None:
    _told(rt, clock)
    assert _stages(rt) == {"initial": 7}

    status(rt, "checkout", "operational")
    # The event's own transaction thanked the first page only, and asked for the rest.
    assert _threads(rt) == {"resolved": 3, "open": 4}
    assert _stages(rt) == {"initial": 7, "resolved": 3}
    assert (Job.SYNC_THREADS, ("INC-7",)) in jobs
    assert _due(rt) is not None

    assert sync_threads(rt, "INC-7") == 2  # the job: 3 more, then the last one
    assert _threads(rt) == {"resolved": 7}
    assert _stages(rt) == {"initial": 7, "resolved": 7}
    assert _due(rt) is None
    assert sync_threads(rt, "INC-7") == 0  # a redelivered job finds nothing to do
    assert _stages(rt) == {"initial": 7, "resolved": 7}
    assert verify_chain(rt.db).ok


def test_the_scheduler_finishes_when_the_job_was_lost(
    rt: Runtime, clock: SimulatedClock, jobs: list[tuple[str, tuple[object, ...]]]
) -> None:
    _told(rt, clock)
    status(rt, "checkout", "operational")
    jobs.clear()  # the broker lost it
    tick(rt)
    assert _threads(rt) == {"resolved": 3, "open": 4}, "not before FOREWARN_RELAY_AFTER: the job may be running"
    clock.advance(timedelta(minutes=6))
    tick(rt)
    assert _threads(rt) == {"resolved": 7}
    assert _stages(rt)["resolved"] == 7


def test_down_again_before_everyone_heard_the_all_clear(
    rt: Runtime, clock: SimulatedClock, jobs: list[tuple[str, tuple[object, ...]]]
) -> None:
    """Nobody is thanked for a fix while the component is broken again: the rest stay in their thread."""
    _told(rt, clock)
    status(rt, "checkout", "operational")
    clock.advance(timedelta(minutes=1))
    status(rt, "checkout", "major_outage")
    sync_threads(rt, "INC-7")
    assert _threads(rt) == {"resolved": 3, "open": 4}
    assert _stages(rt) == {"initial": 7, "resolved": 3}
    assert _due(rt) is None
    # The new spell outlasts the debounce: those already thanked hear it is down again (their thread
    # reopens with an update); the rest never left their thread and are not told twice.
    run_for(rt, clock, timedelta(minutes=12))
    assert _stages(rt) == {"initial": 7, "resolved": 3, "update": 3}


def test_a_small_incident_is_resolved_in_the_event_itself(
    rt: Runtime, clock: SimulatedClock, jobs: list[tuple[str, tuple[object, ...]]]
) -> None:
    subscribers(rt, "checkout", "C1", "C2")
    status(rt, "checkout", "major_outage")
    run_for(rt, clock, timedelta(minutes=12))
    status(rt, "checkout", "operational")
    assert _threads(rt) == {"resolved": 2}
    assert not [job for job in jobs if job[0] == Job.SYNC_THREADS]
    assert _due(rt) is None
