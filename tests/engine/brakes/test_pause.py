"""The global pause: nothing is queued or announced while paused, nothing is lost, all of it audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from support import builders
from support.outage_story import AUTH, audited, notices, ops_client, run_for, status, subscribers
from support.pipeline import pause_sending

from engine.brakes.pause import is_paused
from engine.clock import SimulatedClock
from engine.delivery.service import deliver
from engine.events import parse_events
from engine.inbound.service import store_events
from engine.models import Component, Notice
from engine.processing import apply_event
from engine.runtime import Runtime
from engine.scheduler import tick


class Recorder:
    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[Any, ...]]] = []

    def send(self, actor_name: str, *args: Any, delay: timedelta | None = None) -> None:
        self.jobs.append((actor_name, args))


@pytest.fixture
def api(rt: Runtime) -> Iterator[TestClient]:
    with ops_client(rt) as client:
        yield client


def paused(rt: Runtime) -> bool:
    with Session(rt.db) as session:
        return is_paused(session)


def a_warning(rt: Runtime, recorder: Recorder) -> int:
    """A damaged parcel: the decision is recorded as one pending email notice; returns its id."""
    t = rt.clock.now()
    events = parse_events(
        [
            builders.customer_upserted(t, channels=["email"]),
            builders.order_created(t),
            builders.shipment(t, "exception", exception="damaged"),
        ]
    )
    with rt.unit_of_work() as session:
        stored = store_events(session, source="events", events=events, received_at=t)
    for event_id in stored.accepted:
        apply_event(rt, event_id)
    [[notice_id]] = [args[0] for name, args in recorder.jobs if name == "notices.deliver_batch"]
    recorder.jobs.clear()
    return int(notice_id)


def test_paused_the_relay_queues_nothing_and_resuming_sends_what_is_due(rt: Runtime, clock: SimulatedClock) -> None:
    recorder = Recorder()
    rt.dispatcher = recorder
    pause_sending(rt, True, "staff:ana@example.com", "carrier data looks wrong")
    notice_id = a_warning(rt, recorder)  # decided while paused: recorded, not lost
    for _ in range(3):
        clock.advance(timedelta(minutes=5))
        report = tick(rt)
        assert report.paused and report.notices_queued == 0
    assert [name for name, _ in recorder.jobs if name.startswith("notices.deliver")] == []
    with Session(rt.db) as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None and notice.status == "pending"

    pause_sending(rt, False, "staff:ana@example.com", "checked, all fine")
    report = tick(rt)  # straight away, not only after FOREWARN_RELAY_AFTER
    assert not report.paused and report.notices_queued == 1
    assert recorder.jobs == [("notices.deliver_batch", ([notice_id],))]  # the relay queues in batches
    assert deliver(rt, [notice_id], jitter=False)["sent"] == 1


def test_paused_outages_are_not_announced_until_resumed(rt: Runtime, clock: SimulatedClock) -> None:
    subscribers(rt, "checkout", "C1", "C2")
    pause_sending(rt, True, "staff:api", None)
    status(rt, "checkout", "major_outage")
    run_for(rt, clock, timedelta(minutes=30))
    assert notices(rt) == []
    with Session(rt.db) as session:
        component = session.get(Component, "checkout")
        assert component is not None and component.notify_at is not None  # still due
    pause_sending(rt, False, "staff:api", None)
    run_for(rt, clock, timedelta(minutes=1))
    assert notices(rt) == [("C1", "initial", "sent"), ("C2", "initial", "sent")]


def test_a_blip_that_heals_during_the_pause_sends_nothing_after_it(rt: Runtime, clock: SimulatedClock) -> None:
    subscribers(rt, "checkout", "C1")
    pause_sending(rt, True, "staff:api", None)
    status(rt, "checkout", "major_outage")
    run_for(rt, clock, timedelta(minutes=30))
    status(rt, "checkout", "operational")
    pause_sending(rt, False, "staff:api", None)
    run_for(rt, clock, timedelta(minutes=30))
    assert notices(rt) == []


def test_delivery_leaves_a_notice_pending_while_paused(rt: Runtime, clock: SimulatedClock) -> None:
    recorder = Recorder()
    rt.dispatcher = recorder
    notice_id = a_warning(rt, recorder)
    pause_sending(rt, True, "staff:api", None)  # the job was already queued when staff paused
    assert deliver(rt, [notice_id], jitter=False)["sent"] == 0
    with Session(rt.db) as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None and (notice.status, notice.attempts) == ("pending", 0)
    pause_sending(rt, False, "staff:api", None)
    assert deliver(rt, [notice_id], jitter=False)["sent"] == 1


def test_pause_and_resume_through_the_api_are_audited(api: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    assert api.get("/api/pause", headers=AUTH).json() == {
        "paused": False,
        "updated_at": None,
        "updated_by": None,
        "reason": None,
    }
    response = api.post("/api/pause", json={"paused": True, "reason": "bad feed"}, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["paused"] is True and paused(rt)
    state = api.get("/api/pause", headers=AUTH).json()
    assert (state["paused"], state["updated_by"], state["reason"]) == (True, "staff:api", "bad feed")
    clock.advance(timedelta(minutes=7))
    assert api.post("/api/pause", json={"paused": False}, headers=AUTH).json()["paused"] is False
    assert not paused(rt)
    entries = audited(rt, "sending.paused", "sending.resumed")
    assert [(e.action, e.actor, e.details["reason"]) for e in entries] == [
        ("sending.paused", "staff:api", "bad feed"),
        ("sending.resumed", "staff:api", None),
    ]
    assert api.get("/api/pause", headers=AUTH).json()["reason"] is None


def test_the_pause_api_needs_the_token_and_a_readable_body(api: TestClient, rt: Runtime) -> None:
    assert api.get("/api/pause").status_code == 401
    assert api.post("/api/pause", json={"paused": True}).status_code == 401
    assert api.post("/api/pause", json={"paused": True}, headers={"Authorization": "Bearer no"}).status_code == 401
    assert api.post("/api/pause", json={"reason": "no flag"}, headers=AUTH).status_code == 400
    assert api.post("/api/pause", json={"paused": "perhaps"}, headers=AUTH).status_code == 400
    assert not paused(rt) and audited(rt, "sending.paused", "sending.resumed") == []
