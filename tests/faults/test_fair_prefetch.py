"""Fair prefetch: two workers share a fan-out. With dramatiq's default (a worker holds twice its threads'
worth of jobs) the first worker up took a whole 2,000-recipient fan-out while the other sat idle."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from typing import Any

import pytest
from support.services import require
from support.workers import wait_until

from engine.vocabulary import Job
from engine.wiring import BrokerDispatcher, fair_worker, make_broker

pytestmark = [pytest.mark.faults, pytest.mark.redis, pytest.mark.timeout(120)]
JOBS = 8


def test_two_workers_share_a_fan_out() -> None:
    url = require("FOREWARN_TEST_REDIS_URL")
    queue = f"forewarn-fair-{os.getpid()}"
    done: Counter[str] = Counter()
    started = threading.Event()
    lock = threading.Lock()

    def handler(label: str) -> Any:
        def deliver(ids: list[int]) -> None:
            started.set()
            time.sleep(0.5)  # a batch of emails takes a while
            with lock:
                done[label] += 1

        return deliver

    sender = make_broker(url, namespace=queue)
    BrokerDispatcher(sender, {Job.DELIVER: handler("sender")}, queue=queue)
    sender.flush_all()
    for i in range(JOBS):  # the fan-out is queued before any worker is up
        sender.actors[Job.DELIVER].send([i])
    brokers, workers = [], []
    try:
        for label in ("first", "second"):
            broker = make_broker(url, namespace=queue)
            BrokerDispatcher(broker, {Job.DELIVER: handler(label)}, queue=queue)
            worker = fair_worker(broker, threads=4)  # the default FOREWARN_WORKER_THREADS
            worker.start()
            brokers.append(broker)
            workers.append(worker)
            # The first worker is at work (its share fetched) before the second comes up.
            wait_until(started.is_set, what="the first worker to start work")
        wait_until(lambda: sum(done.values()) == JOBS, what="every batch done", timeout=60)
    finally:
        for worker in workers:
            worker.stop()
        for broker in [*brokers, sender]:
            broker.flush_all()
            broker.close()
    assert done["second"] >= 2, done  # the second worker got a share, not the first one's leftovers only
