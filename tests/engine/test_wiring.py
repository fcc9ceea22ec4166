"""Scaled out for real: PostgreSQL + Redis or RabbitMQ, a separate `forewarn worker` process, real SMTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from support import builders
from support.databases import truncate_all
from support.services import require
from support.smtp_server import SmtpTestServer
from support.workers import Worker, every_job_done, wait_until, worker_process

from engine.api.app import create_app
from engine.clock import SystemClock
from engine.compose.store import TemplateStore, seed_templates
from engine.config import Settings
from engine.db import make_engine
from engine.models import InboundEvent, Notice
from engine.runtime import Runtime
from engine.vocabulary import Job
from engine.wiring import HANDLERS, LEGACY_DELIVER_ONE, BrokerDispatcher, make_broker
from integrations.feeds import build_feeds

BROKERS = {"redis": "FOREWARN_TEST_REDIS_URL", "rabbitmq": "FOREWARN_TEST_AMQP_URL"}


@dataclass
class ScaledOut:
    client: TestClient
    rt: Runtime
    dispatcher: BrokerDispatcher
    worker: Worker
    worker_log: Path

    def state(self) -> str:
        """The rows and the worker's own log, for a failure message."""
        with Session(self.rt.db) as session:
            inbound = session.exec(select(InboundEvent.id, InboundEvent.handled_at, InboundEvent.attempts)).all()
            notices = session.exec(
                select(Notice.id, Notice.status, Notice.attempts, Notice.send_at, Notice.status_reason)
            ).all()
        return f"inbound: {inbound}\nnotices: {notices}\nworker log:\n{self.worker_log.read_text()[-3000:]}"


@pytest.fixture(params=list(BROKERS))
def scaled_out(
    request: pytest.FixtureRequest, postgres_url: str, smtp_server: SmtpTestServer, tmp_path: Path
) -> Iterator[ScaledOut]:
    broker_url = require(BROKERS[request.param])
    truncate_all(postgres_url)
    env = {
        **os.environ,
        "FOREWARN_DATABASE_URL": postgres_url,
        "FOREWARN_BROKER_URL": broker_url,
        "FOREWARN_SMTP_URL": smtp_server.url(),
        "FOREWARN_SMS_DIR": str(tmp_path / "sms"),
        "FOREWARN_WEBHOOK_SECRET_EVENTS": builders.SECRET,
        "FOREWARN_LOG_LEVEL": "WARNING",
    }
    settings = Settings(
        database_url=postgres_url,
        broker_url=broker_url,
        smtp_url=smtp_server.url(),
        webhook_secret_events=builders.SECRET,
        _env_file=None,
    )  # type: ignore[call-arg]
    queue = f"forewarn-test-{os.getpid()}"  # concurrent test runs on one broker must not share jobs
    env["FOREWARN_QUEUE_NAME"] = queue
    broker = make_broker(broker_url, namespace=queue)
    dispatcher = BrokerDispatcher(broker, HANDLERS, queue=queue)
    broker.flush_all()  # messages left by an earlier run would name rows that no longer exist
    rt = Runtime(
        settings=settings,
        db=make_engine(postgres_url),
        clock=SystemClock(),
        templates=TemplateStore(),
        dispatcher=dispatcher,
    )
    with rt.unit_of_work() as session:
        seed_templates(session, now=rt.clock.now())
    log_path = tmp_path / "worker.log"
    try:
        with (
            worker_process(env, log_path, threads=2) as worker,
            TestClient(create_app(rt, feeds=build_feeds(settings), broker_ping=dispatcher.ping)) as client,
        ):
            yield ScaledOut(client, rt, dispatcher, worker, log_path)
    finally:
        broker.close()
        rt.close()


def test_a_worker_process_delivers_through_the_broker_exactly_once(
    scaled_out: ScaledOut, smtp_server: SmtpTestServer
) -> None:
    client, rt, dispatcher = scaled_out.client, scaled_out.rt, scaled_out.dispatcher
    now = rt.clock.now()
    events = [
        builders.customer_upserted(now, channels=["email"]),
        builders.order_created(now),
        builders.shipment(now, "exception", exception="damaged"),
    ]
    body, headers = builders.signed(events, now=now)
    assert client.post("/webhooks/events", content=body, headers=headers).status_code == 202
    assert client.get("/healthz").json()["broker"] == "ok"

    wait_until(
        lambda: len(smtp_server.messages) == 1, what="the warning email at the SMTP server", explain=scaled_out.state
    )
    message = smtp_server.messages[0].parsed()
    assert message["To"] == "ana@example.com"
    assert "desk lamp" in message.get_body(preferencelist=("plain",)).get_content().lower()

    with Session(rt.db) as session:
        notice = session.exec(select(Notice).order_by(col(Notice.id))).one()
        wait_until(
            lambda: (session.refresh(notice), notice.status)[1] == "sent",
            what="the notice marked sent",
            explain=scaled_out.state,
        )
    # The broker may deliver a message twice; the claim on the row makes the second a no-op.
    dispatcher.send(Job.DELIVER, [notice.id])
    dispatcher.send(LEGACY_DELIVER_ONE, notice.id)  # as a job queued by an older build would
    every_job_done(scaled_out.worker, dispatcher)
    assert len(smtp_server.messages) == 1
