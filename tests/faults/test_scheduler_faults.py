"""One active scheduler at a time, the others standing by quietly; the queue's depth read by a supported call
that survives a broken broker connection."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fault_table import FaultTable
from support.services import require
from support.workers import wait_until

from engine.clock import SystemClock
from engine.compose.store import TemplateStore
from engine.config import Settings
from engine.db import make_engine
from engine.leadership import Leadership
from engine.runtime import Runtime
from engine.scheduler import SchedulerThread
from engine.wiring import HANDLERS, BrokerDispatcher, make_broker

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]


def runtime(url: str) -> Runtime:
    settings = Settings(database_url=url, scheduler_interval="0.2s", _env_file=None)  # type: ignore[call-arg]
    return Runtime(settings=settings, db=make_engine(url, pool_size=2), clock=SystemClock(), templates=TemplateStore())


@pytest.fixture
def two_runtimes(postgres_url: str) -> Iterator[tuple[Runtime, Runtime]]:
    first, second = runtime(postgres_url), runtime(postgres_url)
    yield first, second
    first.close()
    second.close()


@pytest.mark.postgres
def test_a_second_scheduler_stands_by_quietly_and_takes_over_when_the_first_stops(
    two_runtimes: tuple[Runtime, Runtime], caplog: pytest.LogCaptureFixture, fault_table: FaultTable
) -> None:
    caplog.set_level(logging.INFO)
    first, second = (SchedulerThread(rt) for rt in two_runtimes)
    first.start()
    wait_until(lambda: first.ticks >= 2, what="the first scheduler to tick")
    second.start()
    wait_until(lambda: first.ticks >= 8, what="the first scheduler to tick on")
    assert second.ticks == 0  # standing by

    first.stop()  # the active scheduler goes (a deploy, a crash: the lock goes with its session)
    stopped_at = time.monotonic()
    wait_until(lambda: second.ticks >= 1, what="the second scheduler to take over")
    took_over_in = time.monotonic() - stopped_at
    wait_until(lambda: second.ticks >= 2, what="the second scheduler to tick on")
    second.stop()
    standing_by = [r for r in caplog.records if "standing by" in r.getMessage()]
    assert len(standing_by) == 1  # said once, not every interval
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    fault_table.record(
        "two schedulers, the active one stops (the other stood by quietly)",
        recovery=f"the second took over in {took_over_in:.1f} s",
    )


def test_on_sqlite_the_one_process_always_leads(tmp_path: Path) -> None:
    leadership = Leadership(make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    assert leadership.lead() and leadership.lead()


@pytest.mark.rabbitmq
def test_the_queue_depth_is_read_after_the_broker_connection_broke() -> None:
    url = require("FOREWARN_TEST_AMQP_URL")
    queue = f"forewarn-depth-{os.getpid()}"
    broker = make_broker(url, namespace=queue)
    try:
        dispatcher = BrokerDispatcher(broker, HANDLERS, queue=queue)
        for _ in range(3):
            dispatcher.send("notices.deliver_batch", [1, 2])
        assert dispatcher.backlog() == 3
        broker.connection.close()  # what a RabbitMQ restart leaves behind: a dead connection in the broker
        assert dispatcher.backlog() == 3
        dispatcher.ping()
    finally:
        del broker.connection  # a new one, to clean up
        broker.flush(queue)
        broker.close()


@pytest.mark.redis
def test_the_queue_depth_on_redis_is_read_from_the_queue_itself() -> None:
    url = require("FOREWARN_TEST_REDIS_URL")
    queue = f"forewarn-depth-{os.getpid()}"
    broker = make_broker(url, namespace=queue)
    try:
        dispatcher = BrokerDispatcher(broker, HANDLERS, queue=queue)
        broker.flush_all()
        for _ in range(3):
            dispatcher.send("notices.deliver_batch", [1, 2])
        assert dispatcher.backlog() == 3
        broker.client.connection_pool.disconnect()  # a Redis restart drops every pooled connection
        assert dispatcher.backlog() == 3
        dispatcher.ping()
    finally:
        broker.flush_all()
        broker.close()
