"""Email delivery rate: `forewarn worker` vs plain smtplib, to the same SMTP sink, in the same run.

    python -m bench.smtp_rate        (PostgreSQL + Redis from FOREWARN_BENCH_POSTGRES_URL / _REDIS_URL)

The sink is a separate process (aiosmtpd) that accepts and discards. The baseline is plain smtplib on
one connection, building each message with the same code the channel uses; it runs before and after
the engine, and the ratio is against their mean (the machine is shared, so one-off speed changes show).
The engine's side is what users run: notices in PostgreSQL, queued as `notices.deliver_batch` jobs in
Redis (as a fan-out or the relay queues them), and a `forewarn worker` process (BENCH_WORKER_PROCESSES
of them, each with its default threads) claiming, sending through the pooled SMTP channel and recording.
"""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import time
from datetime import UTC, datetime

import psycopg
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from bench.common import conninfo, forewarn_env, fresh_database, peak_rss_mb, smtp_sink, stop_workers
from engine.compose.store import seed_templates
from engine.db import make_engine
from engine.delivery.channel import OutboundMessage
from engine.models import Notice
from engine.notices.outbox import QUEUE_BATCH
from engine.vocabulary import Job
from engine.wiring import HANDLERS, BrokerDispatcher, make_broker
from integrations.channels.email_message import build_email, to_wire

N = int(os.environ.get("BENCH_EMAILS", "3000"))
PROCESSES = int(os.environ.get("BENCH_WORKER_PROCESSES", "1"))
DATABASE = os.environ.get("BENCH_SMTP_DATABASE", "forewarn_bench_smtp")
QUEUE = "forewarn-bench-smtp"
BODY = "Hi Sam,\n\nSevere weather has held up the parcel with your espresso grinder near Louisville, KY. " * 6
SUBJECT = "Your espresso grinder is running late"


def plain_smtplib(port: int) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as conn:
        for i in range(N):
            msg = build_email(
                OutboundMessage(
                    notice_id=i,
                    channel="email",
                    recipient=f"c{i}@example.com",
                    body=BODY,
                    subject=SUBJECT,
                    html=f"<p>{BODY}</p>",
                    message_id=f"n{i}@bench",
                ),
                sender="Shop <n@example.com>",
                reply_to=None,
                date=datetime.now(UTC),
            )
            conn.sendmail("n@example.com", [f"c{i}@example.com"], to_wire(msg))
    return N / (time.perf_counter() - started)


def _seed(database_url: str) -> list[int]:
    """N pending email notices to N customers, one outage thread each, as a fan-out leaves them (COPY; not
    timed). One customer per notice: the daily cap would rightly merge N notices to one customer."""
    now = datetime.now(UTC)
    with psycopg.connect(conninfo(database_url)) as conn, conn.cursor() as cur:
        columns = (
            "id, name, email, locale, timezone, channels, components, extra, email_opted_out, created_at, updated_at"
        )
        with cur.copy(f"COPY customers ({columns}) FROM STDIN") as copy:
            for i in range(N):
                copy.write_row(
                    (f"C{i}", "Sam", f"c{i}@example.com", "en", "UTC", '["email"]', "[]", "{}", False, now, now)
                )
        columns = "id, customer_id, kind, subject_key, status, details, opened_at, updated_at"
        with cur.copy(f"COPY situations ({columns}) FROM STDIN") as copy:
            for i in range(N):
                copy.write_row((i + 1, f"C{i}", "shipment.delayed", f"order:A{i}", "open", "{}", now, now))
        cur.execute("SELECT setval(pg_get_serial_sequence('situations', 'id'), %s)", (N,))
        columns = (
            "situation_id, customer_id, thread_key, situation, stage, channel, recipient, locale, template, subject,"
            " body, html, message_id, status, send_at, deferred, enqueued_at, attempts, created_at"
        )
        with cur.copy(f"COPY notices ({columns}) FROM STDIN") as copy:
            for i in range(N):
                copy.write_row(
                    (
                        i + 1,
                        f"C{i}",
                        f"order:A{i}",
                        "shipment.delayed",
                        "initial",
                        "email",
                        f"c{i}@example.com",
                        "en",
                        "bench",
                        SUBJECT,
                        BODY,
                        f"<p>{BODY}</p>",
                        f"n{i}@bench",
                        "pending",
                        now,
                        False,
                        now,
                        0,
                        now,
                    )
                )
        cur.execute("SELECT id FROM notices ORDER BY id")
        ids = [r[0] for r in cur.fetchall()]
        cur.execute("ANALYZE")
        conn.commit()
    return ids


def _wait_until_sent(engine: Engine, *, stall_seconds: float = 60) -> None:
    """Until all N are sent; a run that stops making progress ends with the notices' statuses, not a hang."""
    sent, progressed = 0, time.perf_counter()
    with Session(engine) as session:
        while sent < N:
            time.sleep(0.1)
            now_sent = session.exec(select(func.count(col(Notice.id))).where(Notice.status == "sent")).one()
            if now_sent > sent:
                sent, progressed = now_sent, time.perf_counter()
            elif time.perf_counter() - progressed > stall_seconds:
                statuses = session.exec(select(Notice.status, func.count(col(Notice.id))).group_by(Notice.status)).all()
                raise SystemExit(f"no email sent for {stall_seconds:.0f} s; notices by status: {dict(statuses)}")


def engine_worker(port: int, database_url: str, redis_url: str) -> tuple[float, float]:
    """(emails/s, peak RSS MB of the largest worker) for `forewarn worker` draining N queued notices."""
    ids = _seed(database_url)
    with Session(engine := make_engine(database_url, pool_size=1)) as session:
        # Workers seed templates on start; do it first, so several starting at once do not race each other.
        seed_templates(session, now=datetime.now(UTC))
        session.commit()
    broker = make_broker(redis_url, namespace=QUEUE)
    dispatcher = BrokerDispatcher(broker, HANDLERS, queue=QUEUE)
    broker.flush_all()
    env = forewarn_env(database_url, redis_url, QUEUE, FOREWARN_SMTP_URL=f"smtp://127.0.0.1:{port}")
    workers = [
        subprocess.Popen([sys.executable, "-m", "engine.cli", "worker"], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(PROCESSES)
    ]
    try:
        for worker in workers:  # started and listening before the clock starts
            assert worker.stdout is not None
            line = worker.stdout.readline()
            assert "worker started" in line, line
        started = time.perf_counter()
        for start in range(0, len(ids), QUEUE_BATCH):
            dispatcher.send(Job.DELIVER, ids[start : start + QUEUE_BATCH])
        _wait_until_sent(engine)
        seconds = time.perf_counter() - started
        peak = max(peak_rss_mb(worker.pid) for worker in workers)
    finally:
        stop_workers(workers)
        broker.close()
        engine.dispose()
    return N / seconds, peak


def main() -> None:
    database_url = fresh_database(
        os.environ.get("FOREWARN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"), DATABASE
    )
    redis_url = os.environ.get("FOREWARN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    with smtp_sink() as port:
        before = plain_smtplib(port)
        engine_rate, peak = engine_worker(port, database_url, redis_url)
        after = plain_smtplib(port)
    baseline = (before + after) / 2
    print(f"plain smtplib, one connection: {before:,.0f} emails/s before, {after:,.0f} after (mean {baseline:,.0f})")
    print(
        f"forewarn worker x{PROCESSES} (PostgreSQL + Redis, notices.deliver_batch): {engine_rate:,.0f} emails/s,"
        f" peak RSS {peak:.0f} MB"
    )
    print(f"SUMMARY smtp: engine {engine_rate:,.0f}/s vs smtplib {baseline:,.0f}/s, ratio {engine_rate / baseline:.2f}")
    print(f"  ratio engine / smtplib: {engine_rate / baseline:.2f} (target >= 0.6)")


if __name__ == "__main__":
    main()
