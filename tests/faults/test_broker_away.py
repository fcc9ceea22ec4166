"""The broker away, answered as ours: webhooks are stored (and queued later by the relay) while it has
been away for less than FOREWARN_BROKER_GRACE, answered 503 + Retry-After after that, and accepted again
once it answers. Nothing answered 202 is lost. Redis is real; a TCP gate in front of it goes away."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from support import builders
from support.databases import truncate_all
from support.fault_table import FaultTable
from support.services import require
from support.tcp_gate import TcpGate
from support.workers import wait_until

from engine.api.app import create_app
from engine.clock import SimulatedClock, parse_duration
from engine.compose.store import TemplateStore, seed_templates
from engine.config import Settings
from engine.db import make_engine
from engine.models import InboundEvent
from engine.runtime import Runtime
from engine.scheduler import tick
from engine.vocabulary import Job
from engine.wiring import BrokerDispatcher, make_broker
from integrations.feeds import build_feeds

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.timeout(120)]


@pytest.fixture
def gate() -> Iterator[TcpGate]:
    redis = urlparse(require("FOREWARN_TEST_REDIS_URL"))
    gate = TcpGate(redis.hostname or "127.0.0.1", redis.port or 6379)
    gate.open()
    yield gate
    gate.shut()


@pytest.fixture
def served(
    postgres_url: str, tmp_path: Path, clock: SimulatedClock, gate: TcpGate
) -> Iterator[tuple[Runtime, BrokerDispatcher, TestClient]]:
    truncate_all(postgres_url)
    settings = Settings(
        database_url=postgres_url,
        outbox_dir=str(tmp_path / "outbox"),
        webhook_secret_events=builders.SECRET,
        audit_checkpoint_file=str(tmp_path / "checkpoints.jsonl"),
        _env_file=None,  # type: ignore[call-arg]
    )
    redis = urlparse(require("FOREWARN_TEST_REDIS_URL"))
    queue = f"broker-away-{uuid.uuid4().hex[:8]}"
    broker = make_broker(f"redis://127.0.0.1:{gate.port}{redis.path}", namespace=queue)
    # No grace: the first job that cannot be queued starts the refusal (the default waits 10 s).
    dispatcher = BrokerDispatcher(broker, queue=queue, grace_seconds=0.0)
    rt = Runtime(settings=settings, db=make_engine(postgres_url), clock=clock, templates=TemplateStore())
    rt.dispatcher = dispatcher
    with rt.unit_of_work() as session:
        seed_templates(session, now=clock.now())
    app = create_app(rt, feeds=build_feeds(settings), broker_ping=dispatcher.ping, broker_health=dispatcher.health)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield rt, dispatcher, client
    finally:
        broker.flush_all()
        broker.close()
        rt.close()


def post(client: TestClient, clock: SimulatedClock, event: dict[str, Any]) -> Any:
    body, headers = builders.signed([event], now=clock.now())
    return client.post("/webhooks/events", content=body, headers=headers)


def stored(rt: Runtime) -> list[int]:
    with Session(rt.db) as session:
        return [i for i in session.exec(select(InboundEvent.id).order_by(col(InboundEvent.id))).all() if i]


def queued_events(dispatcher: BrokerDispatcher) -> list[int]:
    """The inbound event ids the broker holds `events.apply` jobs for."""
    client = dispatcher.broker.client  # type: ignore[attr-defined]
    messages = [json.loads(raw) for raw in client.hvals(f"{dispatcher.broker.namespace}:{dispatcher.queue}.msgs")]  # type: ignore[attr-defined]
    return sorted(m["args"][0] for m in messages if m["actor_name"] == Job.APPLY_EVENT)


def test_a_broker_away_past_its_grace_is_503_and_every_accepted_event_is_queued_once_it_is_back(
    served: tuple[Runtime, BrokerDispatcher, TestClient],
    gate: TcpGate,
    clock: SimulatedClock,
    fault_table: FaultTable,
) -> None:
    rt, dispatcher, client = served
    first = post(client, clock, builders.customer_upserted(clock.now(), id="C1"))
    assert first.status_code == 202
    wait_until(lambda: len(queued_events(dispatcher)) == 1, what="the first event's job on the broker", timeout=10)

    gate.shut()
    # The broker has just gone: the event is stored, its job cannot be queued, and the outage starts.
    during = post(client, clock, builders.customer_upserted(clock.now(), id="C2"))
    assert during.status_code == 202 and during.json() == {"accepted": 1, "duplicates": 0}
    wait_until(lambda: dispatcher.health.down_since is not None, what="the failed send to be noticed", timeout=10)

    refused = post(client, clock, builders.customer_upserted(clock.now(), id="C3"))
    assert refused.status_code == 503
    assert refused.headers["retry-after"].isdigit()
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["status"] == 503 and "nothing was changed" in refused.json()["detail"]
    assert len(stored(rt)) == 2  # the refused delivery left nothing behind
    assert client.get("/healthz").status_code == 503

    gate.open()
    reopened_at = time.monotonic()
    # The sender retries the refused delivery until it is accepted (the API asks the broker again).
    retried = builders.customer_upserted(clock.now(), id="C3")
    answers: list[int] = []
    wait_until(lambda: answers.append(post(client, clock, retried).status_code) or answers[-1] == 202, what="a 202")
    assert set(answers) <= {202, 503}
    ids = stored(rt)
    assert len(ids) == 3
    accepted_again_in = time.monotonic() - reopened_at
    wait_until(lambda: queued_events(dispatcher) == [ids[0], ids[2]], what="the retried event's job", timeout=10)

    # The event stored while the broker was away is queued by the relay once it is due.
    clock.advance(parse_duration(rt.settings.relay_after))
    tick(rt)
    assert set(queued_events(dispatcher)) == set(ids)
    jobs = queued_events(dispatcher)
    fault_table.record(
        "Redis away: 202 within the grace, then 503 + Retry-After; every accepted event queued once it is back"
        f" ({len(jobs)} jobs for {len(set(jobs))} events: the relay may queue one again; applying is idempotent)",
        delivered=len(set(jobs)),
        stranded=len(set(ids) - set(jobs)),
        recovery=f"the sender's retry accepted {accepted_again_in:.1f} s after the broker was back",
    )
