"""Email delivery rate: the engine's worker vs plain smtplib, to the same SMTP sink, in the same run.

    python -m bench.smtp_rate        (PostgreSQL + Redis from FOREWARN_BENCH_POSTGRES_URL / _REDIS_URL)

The sink is a separate process (aiosmtpd) that accepts and discards. The engine's side is the real
path: notices in PostgreSQL, `notices.deliver` jobs through Redis, a dramatiq worker claiming, sending
through the pooled SMTP channel and recording each result.
"""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

import dramatiq
from sqlalchemy import text
from sqlmodel import Session, col, func, select

from engine.broker import BrokerDispatcher, make_broker
from engine.clock import SystemClock
from engine.compose.store import TemplateStore
from engine.config import Settings
from engine.db import make_engine
from engine.models import Customer, Notice, Situation
from engine.runtime import Runtime
from engine.tasks import HANDLERS, install_runtime
from integrations.channels import build_channels
from integrations.channels.email_message import build_email, to_wire

N = int(os.environ.get("BENCH_EMAILS", "2000"))
SINK = """
import asyncio, sys
from aiosmtpd.controller import Controller
class Discard:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
c = Controller(Discard(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start(); print("ready", flush=True)
sys.stdin.read()
"""
BODY = "Hi Sam,\n\nSevere weather has held up the parcel with your espresso grinder near Louisville, KY. " * 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def plain_smtplib(port: int) -> float:
    from engine.channels import OutboundMessage

    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as conn:
        for i in range(N):
            msg = build_email(
                OutboundMessage(
                    notice_id=i,
                    channel="email",
                    recipient=f"c{i}@example.com",
                    body=BODY,
                    subject="Your espresso grinder is running late",
                    html=f"<p>{BODY}</p>",
                    message_id=f"n{i}@bench",
                ),
                sender="Shop <n@example.com>",
                reply_to=None,
                date=datetime.now(UTC),
            )
            conn.sendmail("n@example.com", [f"c{i}@example.com"], to_wire(msg))
    return N / (time.perf_counter() - started)


def engine_worker(port: int, database_url: str, redis_url: str, threads: int) -> float:
    settings = Settings(
        database_url=database_url,
        broker_url=redis_url,
        smtp_url=f"smtp://127.0.0.1:{port}",
        queue_name="forewarn-bench",
        _env_file=None,
    )  # type: ignore[call-arg]
    rt = Runtime(
        settings=settings,
        db=make_engine(database_url, pool_size=threads + 2),
        clock=SystemClock(),
        templates=TemplateStore(),
        channels=dict(build_channels(settings, SystemClock())),
    )
    now = rt.clock.now()
    with Session(rt.db) as session:
        session.execute(text("TRUNCATE notices, delivery_attempts, situations, customers, audit_entries CASCADE"))
        session.add(
            Customer(id="C1", name="Sam", email="s@example.com", channels=["email"], created_at=now, updated_at=now)
        )
        session.flush()
        situation = Situation(
            customer_id="C1", kind="shipment.delayed", subject_key="order:A1", opened_at=now, updated_at=now
        )
        session.add(situation)
        session.flush()
        session.add_all(
            Notice(
                situation_id=situation.id or 0,
                customer_id="C1",
                thread_key="order:A1",
                situation="shipment.delayed",
                stage="initial",
                channel="email",
                recipient=f"c{i}@example.com",
                template="bench",
                subject="Your espresso grinder is running late",
                body=BODY,
                html=f"<p>{BODY}</p>",
                message_id=f"n{i}@bench",
                send_at=now,
                created_at=now,
            )
            for i in range(N)
        )
        session.commit()
        ids = session.exec(select(Notice.id).order_by(col(Notice.id))).all()
    broker = make_broker(redis_url, namespace="forewarn-bench")
    dispatcher = BrokerDispatcher(broker, HANDLERS, queue="forewarn-bench")
    broker.flush_all()
    rt.dispatcher = dispatcher
    install_runtime(rt)
    for notice_id in ids:
        dispatcher.send("notices.deliver", notice_id)
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    started = time.perf_counter()
    worker.start()
    with Session(rt.db) as session:
        while session.exec(select(func.count(col(Notice.id))).where(Notice.status == "sent")).one() < N:
            time.sleep(0.05)
    seconds = time.perf_counter() - started
    worker.stop()
    broker.close()
    rt.close()
    return N / seconds


def main() -> None:
    from bench.scan import _database

    database_url = _database(os.environ.get("FOREWARN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    redis_url = os.environ.get("FOREWARN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    port = _free_port()
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        baseline = plain_smtplib(port)
        threads = int(os.environ.get("BENCH_WORKER_THREADS", "4"))
        engine_rate = engine_worker(port, database_url, redis_url, threads)
    finally:
        sink.terminate()
        sink.wait()
    print(f"plain smtplib, one connection: {baseline:,.0f} emails/s")
    print(f"engine worker ({threads} threads, PostgreSQL + Redis, claim/send/record): {engine_rate:,.0f} emails/s")
    print(f"ratio engine / smtplib: {engine_rate / baseline:.2f} (target >= 0.6)")


if __name__ == "__main__":
    main()
