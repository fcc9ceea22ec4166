"""The relay: the database is the truth, so work a broker lost is queued again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session
from support import builders

from engine.clock import SimulatedClock
from engine.events import parse_events
from engine.inbound.service import store_events
from engine.models import Notice
from engine.processing import apply_event
from engine.runtime import Runtime
from engine.scheduler import tick


class Recorder:
    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[Any, ...]]] = []

    def send(self, actor_name: str, *args: Any, delay: timedelta | None = None) -> None:
        self.jobs.append((actor_name, args))


def test_lost_jobs_are_queued_again_once_due(rt: Runtime, clock: SimulatedClock) -> None:
    recorder = Recorder()
    rt.dispatcher = recorder
    t = clock.now()
    events = parse_events(
        [
            builders.customer_upserted(t, channels=["email"]),
            builders.order_created(t),
            builders.shipment(t, "exception", exception="damaged"),
        ]
    )
    with rt.unit_of_work() as session:
        stored = store_events(session, source="events", events=events, received_at=t)
    assert [name for name, _ in recorder.jobs] == ["events.apply"] * 3
    recorder.jobs.clear()  # the broker lost them

    assert tick(rt).events_requeued == 0  # not yet: the worker may still be on it
    clock.advance(timedelta(minutes=3))
    assert tick(rt).events_requeued == 3
    assert sorted(args[0] for _, args in recorder.jobs) == stored.accepted
    recorder.jobs.clear()
    for event_id in stored.accepted:
        apply_event(rt, event_id)
    [(name, (notice_id,))] = recorder.jobs  # the warning was queued after its transaction committed
    assert name == "notices.deliver"
    recorder.jobs.clear()  # …and lost too

    clock.advance(timedelta(minutes=3))
    report = tick(rt)
    assert report.events_requeued == 0 and report.notices_queued == 1
    assert recorder.jobs == [("notices.deliver_batch", ([notice_id],))]  # the relay queues in batches
    recorder.jobs.clear()
    assert tick(rt).notices_queued == 0  # queued just now: not again until the relay delay passes
    with Session(rt.db) as session:
        assert session.get(Notice, notice_id).status == "pending"
