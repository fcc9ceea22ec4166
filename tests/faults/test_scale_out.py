"""Scaled out as docs/deploy.md lays it out: two `forewarn serve`, two `forewarn worker` and two `forewarn
scheduler` processes against one PostgreSQL database and one Redis broker. An outage reported to both APIs
(the sender retried at the other one) reaches every subscribed customer exactly once, counted at a real
SMTP server, and every customer's outage is announced once (one situation, one notice). Run on each broker
the deployment guide names: Redis and RabbitMQ."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, col, func, select
from support import builders
from support.databases import drop_postgres, fresh_postgres
from support.fault_table import FaultTable, duplicates
from support.services import require
from support.smtp_server import SmtpTestServer, free_port
from support.workers import wait_until

from engine.db import make_engine
from engine.models import InboundEvent, Notice, Situation
from engine.wiring import HANDLERS, BrokerDispatcher, make_broker

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.timeout(300)]
BROKERS = {
    "redis": ("FOREWARN_TEST_REDIS_URL", pytest.mark.redis),
    "rabbitmq": ("FOREWARN_TEST_AMQP_URL", pytest.mark.rabbitmq),
}
CUSTOMERS = 20


@pytest.fixture
def database() -> Iterator[str]:
    admin = require("FOREWARN_TEST_POSTGRES_URL")
    name = f"forewarn_scale_{os.getpid()}"
    yield fresh_postgres(admin, name)
    drop_postgres(admin, name)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("kind", [pytest.param(kind, marks=mark) for kind, (_, mark) in BROKERS.items()])
def test_two_of_everything_tell_every_customer_once(
    kind: str, database: str, smtp_server: SmtpTestServer, tmp_path: Path, fault_table: FaultTable
) -> None:
    broker_url = require(BROKERS[kind][0])
    queue = f"forewarn-scale-{kind}-{os.getpid()}"
    broker = make_broker(broker_url, namespace=queue)
    BrokerDispatcher(broker, HANDLERS, queue=queue)  # declares the queue, so a flush empties it
    broker.flush_all()
    env = {
        **os.environ,
        "FOREWARN_DATABASE_URL": database,
        "FOREWARN_BROKER_URL": broker_url,
        "FOREWARN_QUEUE_NAME": queue,
        "FOREWARN_WEBHOOK_SECRET_EVENTS": builders.SECRET,
        "FOREWARN_SMTP_URL": smtp_server.url(),
        "FOREWARN_OUTAGE_DEBOUNCE": "1s",
        "FOREWARN_SCHEDULER_INTERVAL": "1s",
        "FOREWARN_AUDIT_CHECKPOINT_FILE": str(tmp_path / "checkpoints.jsonl"),
        "FOREWARN_SMS_DIR": str(tmp_path / "sms"),
        "FOREWARN_LOG_LEVEL": "WARNING",
    }
    cli = [sys.executable, "-m", "engine.cli"]
    log = (tmp_path / "processes.log").open("w")
    ports = [free_port(), free_port()]
    processes = [subprocess.Popen([*cli, "serve", "--port", str(p)], env=env, stdout=log, stderr=log) for p in ports]
    processes += [subprocess.Popen([*cli, role], env=env, stdout=log, stderr=log) for role in ("worker",) * 2]
    processes += [subprocess.Popen([*cli, role], env=env, stdout=log, stderr=log) for role in ("scheduler",) * 2]
    engine = make_engine(database, pool_size=1)
    try:
        for port in ports:
            wait_until(lambda port=port: _answers(f"http://127.0.0.1:{port}/healthz"), what="serve", timeout=90)
        now = datetime.now(UTC)
        customers = [
            builders.customer_upserted(
                now,
                cid=f"S{i}",
                name=f"Sam {i}",
                email=f"scale{i}@example.com",
                phone=None,
                channels=["email"],
                components=["checkout"],
            )
            for i in range(CUSTOMERS)
        ]
        for i, port in enumerate(ports):  # half the customers through each API
            body, headers = builders.signed(customers[i::2], now=now)
            assert (
                httpx.post(f"http://127.0.0.1:{port}/webhooks/events", content=body, headers=headers).status_code == 202
            )
        down = {
            "id": "scale-down",
            "type": "service.status",
            "occurred_at": now.isoformat().replace("+00:00", "Z"),
            "service": {"component": "checkout", "status": "major_outage", "incident_id": "INC-S", "title": "Checkout"},
        }
        reported_at = time.monotonic()
        for port in ports:  # the sender timed out at one API and retried at the other: stored once
            body, headers = builders.signed([down], now=now, msg_id="scale-down-msg")
            assert (
                httpx.post(f"http://127.0.0.1:{port}/webhooks/events", content=body, headers=headers).status_code == 202
            )
        wait_until(lambda: len(smtp_server.messages) >= CUSTOMERS, what="every customer's email", timeout=180)
        all_told_in = time.monotonic() - reported_at

        def settled() -> bool:  # nothing left to send or sending: a duplicate would be at the server by now
            with Session(engine) as session:
                return (
                    session.exec(
                        select(func.count(col(Notice.id))).where(col(Notice.status).in_(("pending", "sending")))
                    ).one()
                    == 0
                )

        wait_until(settled, what="every notice settled", timeout=60)
        with Session(engine) as session:
            statuses = dict(
                session.exec(select(Notice.status, func.count(col(Notice.id))).group_by(Notice.status)).all()
            )
            situations = session.exec(select(func.count(col(Situation.id)))).one()
            outage_events = session.exec(
                select(func.count()).select_from(InboundEvent).where(InboundEvent.type == "service.status")
            ).one()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
        log.close()
        engine.dispose()
        broker.flush_all()
        broker.close()

    recipients = Counter(r for m in smtp_server.messages for r in m.rcpt_tos)
    fault_table.record(
        f"2 serve + 2 worker + 2 scheduler on PostgreSQL and {kind}, the outage posted to both APIs",
        delivered=len(recipients),
        duplicated=duplicates(r for m in smtp_server.messages for r in m.rcpt_tos),
        stranded=statuses.get("pending", 0) + statuses.get("sending", 0),
        recovery=f"every customer told {all_told_in:.1f} s after the report",
    )
    assert recipients == Counter({f"scale{i}@example.com": 1 for i in range(CUSTOMERS)})  # each once, none twice
    assert statuses == {"sent": CUSTOMERS}
    assert situations == CUSTOMERS  # the announcing scan ran once per customer, on one scheduler
    assert outage_events == 1
    assert "Traceback" not in (tmp_path / "processes.log").read_text()
