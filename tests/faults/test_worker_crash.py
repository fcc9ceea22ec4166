"""kill -9 a real `forewarn worker` in the middle of a fan-out (PostgreSQL, Redis, a real SMTP server):
nobody is told twice, nobody is left stranded, and at most one message per worker thread is unconfirmed."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session, select
from support.databases import truncate_all
from support.fault_table import FaultTable
from support.outage_story import status, subscribers
from support.services import require
from support.smtp_server import running_smtp_server
from support.workers import Worker, wait_until

from engine.clock import SystemClock
from engine.compose.store import TemplateStore, seed_templates
from engine.config import Settings
from engine.db import make_engine
from engine.detection.outages.announcement import scan_outages
from engine.models import Notice
from engine.runtime import Runtime
from engine.scheduler import tick
from engine.wiring import HANDLERS, BrokerDispatcher, make_broker

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(300)]
CUSTOMERS = 300
THREADS = 2


def statuses(rt: Runtime) -> Counter[str]:
    with Session(rt.db) as session:
        return Counter(str(n.status) for n in session.exec(select(Notice)).all())


def test_kill_9_mid_fan_out_strands_nothing_and_sends_nothing_twice(
    postgres_url: str, tmp_path: Path, fault_table: FaultTable
) -> None:
    redis_url = require("FOREWARN_TEST_REDIS_URL")
    truncate_all(postgres_url)
    queue = f"forewarn-kill-{os.getpid()}"
    with running_smtp_server() as smtp:
        smtp.handler.delay_each = 0.02  # a relay that takes its time: the kill lands mid-chunk
        settings = Settings(
            database_url=postgres_url,
            broker_url=redis_url,
            smtp_url=smtp.url(),
            outage_debounce="0s",
            fanout_approval=100_000,
            queue_name=queue,
            relay_after="2s",
            _env_file=None,  # type: ignore[call-arg]
        )
        broker = make_broker(redis_url, namespace=queue)
        broker.flush_all()
        rt = Runtime(
            settings=settings,
            db=make_engine(postgres_url),
            clock=SystemClock(),
            templates=TemplateStore(),
            dispatcher=BrokerDispatcher(broker, HANDLERS, queue=queue),
        )
        env = {
            **os.environ,
            "FOREWARN_DATABASE_URL": postgres_url,
            "FOREWARN_BROKER_URL": redis_url,
            "FOREWARN_SMTP_URL": smtp.url(),
            "FOREWARN_QUEUE_NAME": queue,
            "FOREWARN_RELAY_AFTER": "2s",
            "FOREWARN_LOG_LEVEL": "WARNING",
        }
        worker = Worker(env, tmp_path / "worker.log", THREADS)
        try:
            with rt.unit_of_work() as session:
                seed_templates(session, now=rt.clock.now())
            cids = [f"K{i:04d}" for i in range(CUSTOMERS)]
            subscribers(rt, "checkout", *cids)
            status(rt, "checkout", "major_outage")
            assert scan_outages(rt) == CUSTOMERS
            worker.start()
            wait_until(lambda: len(smtp.messages) >= 60, what="the worker to be well into the fan-out")
            assert worker.process is not None
            worker.process.kill()  # kill -9: no cleanup of any kind
            worker.process.wait()
            killed_at = time.monotonic()
            stranded_at_kill = statuses(rt)["sending"]

            time.sleep(4.5)  # the claims age past FOREWARN_RELAY_AFTER, the attempts past twice that
            reconciled = tick(rt).reconciled
            worker.start()  # a new worker (the old machine is gone)

            def settled() -> bool:
                tick(rt)  # the scheduler, every second here
                left = statuses(rt)
                return left["pending"] == 0 and left["sending"] == 0

            wait_until(settled, what="every notice settled after the kill", timeout=180)
            recovered_in = time.monotonic() - killed_at
        finally:
            worker.finish()
            broker.close()
            rt.close()

    received = Counter(m.rcpt_tos[0] for m in smtp.messages)
    with Session(rt.db) as session:
        notices = session.exec(select(Notice)).all()
    unconfirmed = [n for n in notices if (n.status_reason or "").startswith("unconfirmed:")]
    duplicated = sum(count - 1 for count in received.values() if count > 1)
    stranded = sum(1 for n in notices if n.status in ("pending", "sending"))
    fault_table.record(
        f"kill -9 of a worker mid fan-out ({len(notices)} notices; {stranded_at_kill} sending at the kill, "
        f"{reconciled['released']} released, {len(unconfirmed)} unconfirmed)",
        delivered=len(received),
        duplicated=duplicated,
        stranded=stranded,
        recovery=f"{recovered_in:.1f} s",
    )
    assert duplicated == 0
    assert stranded == 0
    assert all(n.status == "sent" for n in notices)
    assert len(unconfirmed) <= THREADS  # the crash window: one message per worker thread
    assert len(received) >= CUSTOMERS - len(unconfirmed)
    assert set(received) <= {f"{c.lower()}@example.com" for c in cids}
