"""The relay: the database is the truth, so work a broker lost is queued again."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session
from support import builders
from support.services import require

from engine.clock import SimulatedClock
from engine.events import CanonicalEvent, parse_events
from engine.inbound.service import store_events
from engine.models import Notice
from engine.processing import apply_event
from engine.runtime import Runtime
from engine.scheduler import LOST_JOBS_BELOW_BACKLOG, tick
from engine.wiring import HANDLERS, BrokerDispatcher, make_broker


class Recorder:
    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[Any, ...]]] = []

    def send(self, actor_name: str, *args: Any, delay: timedelta | None = None) -> None:
        self.jobs.append((actor_name, args))


def _damaged_parcel(clock: SimulatedClock) -> list[CanonicalEvent]:
    """A customer, their order and a damaged parcel: one warning email."""
    t = clock.now()
    return parse_events(
        [
            builders.customer_upserted(t, channels=["email"]),
            builders.order_created(t),
            builders.shipment(t, "exception", exception="damaged"),
        ]
    )


def test_lost_jobs_are_queued_again_once_due(rt: Runtime, clock: SimulatedClock) -> None:
    recorder = Recorder()
    rt.dispatcher = recorder
    with rt.unit_of_work() as session:
        stored = store_events(session, source="events", events=_damaged_parcel(clock), received_at=clock.now())
    assert [name for name, _ in recorder.jobs] == ["events.apply"] * 3
    recorder.jobs.clear()  # the broker lost them

    assert tick(rt).events_requeued == 0  # not yet: the worker may still be on it
    clock.advance(timedelta(minutes=3))
    assert tick(rt).events_requeued == 3
    assert sorted(args[0] for _, args in recorder.jobs) == stored.accepted
    recorder.jobs.clear()
    for event_id in stored.accepted:
        apply_event(rt, event_id)
    [(name, ([notice_id],))] = recorder.jobs  # the warning was queued after its transaction committed
    assert name == "notices.deliver_batch"
    recorder.jobs.clear()  # …and lost too

    clock.advance(timedelta(minutes=3))
    report = tick(rt)
    assert report.events_requeued == 0 and report.notices_queued == 1
    assert recorder.jobs == [("notices.deliver_batch", ([notice_id],))]  # the relay queues in batches
    recorder.jobs.clear()
    assert tick(rt).notices_queued == 0  # queued just now: not again until the relay delay passes
    with Session(rt.db) as session:
        assert session.get(Notice, notice_id).status == "pending"


@pytest.mark.parametrize("broker_env", ["FOREWARN_TEST_REDIS_URL", "FOREWARN_TEST_AMQP_URL"])
def test_a_job_still_waiting_behind_a_backlog_is_not_queued_twice(
    rt: Runtime, clock: SimulatedClock, broker_env: str
) -> None:
    """With a real broker (Redis, RabbitMQ) and no worker: a notice's job queued long ago but still in a long
    queue (a big fan-out draining) is left alone; once the queue is short and the notice still pending, the
    job was lost and the relay queues it again."""
    broker_url = require(broker_env)
    namespace = f"forewarn-relay-test-{os.getpid()}"
    broker = make_broker(broker_url, namespace=namespace)
    dispatcher = BrokerDispatcher(broker, HANDLERS, queue=namespace)
    broker.flush_all()
    rt.dispatcher = dispatcher
    try:
        with rt.unit_of_work() as session:
            events = _damaged_parcel(clock)
            stored = store_events(session, source="events", events=events, received_at=clock.now(), queue=False)
        for event_id in stored.accepted:
            apply_event(rt, event_id)  # the warning's job goes to the broker, where nothing consumes it
        for other in range(LOST_JOBS_BELOW_BACKLOG):  # a fan-out's jobs, queued after it
            dispatcher.send("notices.deliver", 10_000 + other)
        backlog = LOST_JOBS_BELOW_BACKLOG + 1
        assert _settles(dispatcher, backlog)

        clock.advance(timedelta(minutes=10))  # far past FOREWARN_RELAY_AFTER (2 minutes)
        report = tick(rt)
        assert (report.backlog, report.notices_queued) == (backlog, 0)
        assert _settles(dispatcher, backlog)

        broker.flush_all()  # the job is lost
        assert _settles(dispatcher, 0)
        report = tick(rt)
        assert (report.backlog, report.notices_queued) == (0, 1)
        assert _settles(dispatcher, 1)  # one notices.deliver_batch job, queued again
    finally:
        broker.flush_all()
        broker.close()


def _settles(dispatcher: BrokerDispatcher, expected: int) -> bool:
    """RabbitMQ counts a just-published message a few milliseconds later; wait for the count to settle."""
    deadline = time.monotonic() + 5
    while dispatcher.backlog() != expected:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
