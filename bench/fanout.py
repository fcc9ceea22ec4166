"""Fan-out benchmark: an outage reaches 100,000 subscribed customers on PostgreSQL + Redis.

    python -m bench.fanout      (FOREWARN_BENCH_POSTGRES_URL, FOREWARN_BENCH_REDIS_URL; BENCH_FANOUT_* below)

Seeds customers with mixed channels, languages and time zones (COPY, not timed), takes `checkout` down
past the debounce, lets the scan ask for the blast-radius approval and approves it, then times the
announcing scan: deciding, rendering, writing situations, notices and audit entries, and queueing
`notices.deliver_batch` jobs, until every queued notice id is in Redis (checked by reading the queue).
Then a real `forewarn worker` process drains the queue into an SMTP sink in its own process (texts go
to files) while its peak RSS is read from /proc; draining is capped at BENCH_FANOUT_DRAIN_SECONDS.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dramatiq
import psycopg
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from bench.common import (
    COPY_CUSTOMERS,
    conninfo,
    forewarn_env,
    fresh_database,
    peak_rss_mb,
    smtp_sink,
    stop_workers,
)
from engine.audit import verify_chain
from engine.brakes.approvals import approve
from engine.clock import SimulatedClock, format_instant
from engine.compose.store import TemplateStore, seed_templates
from engine.config import Settings
from engine.db import make_engine
from engine.detection.outages.announcement import scan_outages
from engine.detection.outages.threads import sync_threads
from engine.events import parse_events
from engine.inbound.service import store_events
from engine.models import FanoutApproval, Notice
from engine.processing import apply_event
from engine.runtime import Runtime
from engine.vocabulary import FeedSource
from engine.wiring import HANDLERS, BrokerDispatcher, make_broker

CUSTOMERS = int(os.environ.get("BENCH_FANOUT_CUSTOMERS", "100000"))
# How many different first names the customers share (a render is shared by first name, language and zone).
NAMES = int(os.environ.get("BENCH_FANOUT_NAMES", "300"))
DRAIN_SECONDS = float(os.environ.get("BENCH_FANOUT_DRAIN_SECONDS", "90"))
DATABASE = os.environ.get("BENCH_FANOUT_DATABASE", "forewarn_bench_fanout")
QUEUE = "forewarn-bench-fanout"
APPLICATION = "forewarn-bench-fanout"
# 15:00 UTC on a Tuesday: afternoon in the Americas and Europe, night in Tokyo and Sydney (texts wait).
DOWN_AT = datetime(2026, 3, 3, 14, 45, tzinfo=UTC)
ZONES = [
    ("America/New_York", 30),
    ("America/Chicago", 10),
    ("America/Los_Angeles", 12),
    ("America/Sao_Paulo", 25),
    ("Europe/London", 10),
    ("Asia/Tokyo", 8),
    ("Australia/Sydney", 5),
]
CHANNELS = [('["email"]', 55), ('["sms"]', 15), ('["email", "sms"]', 30)]
FIRST = [
    "Ana",
    "Bruno",
    "Carla",
    "Diego",
    "Elena",
    "Felipe",
    "Gabriela",
    "Hugo",
    "Isabel",
    "João",
    "Karen",
    "Lucas",
    "Maria",
    "Nuno",
    "Olivia",
    "Paulo",
]
LAST = [
    "Souza",
    "Silva",
    "Santos",
    "Oliveira",
    "Smith",
    "Johnson",
    "Brown",
    "Lima",
    "Costa",
    "Miller",
    "Garcia",
    "Pereira",
]


def _database(admin: str) -> str:
    target = fresh_database(admin, DATABASE)
    # Named, so the database's own CPU time for this process's connections can be read from /proc.
    return f"{target}?application_name={APPLICATION}"


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _seed(url: str) -> int:
    """Customers and their subscriptions by COPY, streamed row by row (memory stays flat)."""
    rng = random.Random(7)
    firsts = [f"{FIRST[i % len(FIRST)]}{'' if i < len(FIRST) else i // len(FIRST)}" for i in range(NAMES)]
    stamp = DOWN_AT - timedelta(days=30)
    combos: set[tuple[str, str, str]] = set()
    stopped: list[str] = []  # numbers that texted STOP: on the suppression list, as a real STOP leaves them
    with psycopg.connect(conninfo(url)) as conn, conn.cursor() as cur:
        with cur.copy(COPY_CUSTOMERS) as copy:
            for i in range(CUSTOMERS):
                first = rng.choice(firsts)
                locale = "pt-BR" if rng.random() < 0.3 else "en"
                zone = _pick(rng, ZONES)
                combos.add((first, locale, zone))
                phone = None if rng.random() < 0.03 else f"+1555{i:07d}"
                if phone and rng.random() < 0.01:
                    stopped.append(phone)
                components = '["checkout", "search"]' if i % 4 == 0 else '["checkout"]'
                copy.write_row(
                    (
                        f"C{i:06d}",
                        f"{first} {rng.choice(LAST)}",
                        f"c{i:06d}@example.com",
                        phone,
                        locale,
                        zone,
                        _pick(rng, CHANNELS),
                        components,
                        None,
                        rng.random() < 0.02,
                        "{}",
                        stamp,
                        stamp,
                    )
                )
        with cur.copy("COPY channel_suppressions (channel, address, reason, source, created_at) FROM STDIN") as copy:
            for phone in stopped:
                copy.write_row(("sms", phone, "replied STOP", "customer", stamp))
        cur.execute(
            "INSERT INTO customer_components (customer_id, component)"
            " SELECT c.id, e.value FROM customers c CROSS JOIN LATERAL json_array_elements_text(c.components) e"
        )
        cur.execute("ANALYZE")
        conn.commit()
    return len(combos)


def _queued_ids(redis_url: str) -> int:
    """Notice ids in the Redis queue's batch jobs (read back from the broker, not from our own count)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    total = 0
    for raw in client.hvals(f"{QUEUE}:{QUEUE}.msgs"):
        message = json.loads(raw)
        if message["actor_name"] == "notices.deliver_batch":
            total += len(message["args"][0])
    return total


def _postgres_cpu(engine: Engine) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving this process (same machine only)."""
    with engine.connect() as connection:
        pids = connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"), {"name": APPLICATION}
        ).scalars()
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return float("nan")  # PostgreSQL runs elsewhere
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    database_url = _database(os.environ.get("FOREWARN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    redis_url = os.environ.get("FOREWARN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    started = time.perf_counter()
    combos = _seed(database_url)
    print(f"seeded {CUSTOMERS:,} customers subscribed to checkout in {time.perf_counter() - started:.1f} s")
    rt, clock, broker = _runtime(database_url, redis_url)
    _take_down(rt, clock)
    _approve(rt, clock)
    told, notices, queued, seconds = _fan_out(rt, broker, redis_url, combos)
    started = time.perf_counter()
    check = verify_chain(rt.db)
    verified = time.perf_counter() - started
    print(f"  audit verify: {'ok' if check.ok else 'BROKEN'}, {check.checked:,} entries in {verified:.1f} s")

    drained, drain_seconds, worker_peak = _drain(database_url, redis_url, queued)
    print(
        f"worker: `forewarn worker` drained {drained:,} of {queued:,} notices in {drain_seconds:.0f} s"
        f" ({drained / drain_seconds:,.0f}/s), peak RSS {worker_peak:.0f} MB (limit 300 MB)"
    )
    print(_resolve(rt, clock))
    print(
        f"SUMMARY fan-out {told:,} recipients / {notices:,} notices decided, rendered and queued in {seconds:.1f} s"
        f" ({notices / seconds:,.0f} notices/s; target < 30 s); worker peak RSS {worker_peak:.0f} MB (target < 300 MB)"
    )
    broker.close()
    rt.close()


def _runtime(database_url: str, redis_url: str) -> tuple[Runtime, SimulatedClock, dramatiq.Broker]:
    # The blast-radius guard always asks here, even for a small smoke-test run: the approval path is timed too.
    settings = Settings(
        database_url=database_url,
        broker_url=redis_url,
        queue_name=QUEUE,
        fanout_approval=min(1000, CUSTOMERS - 1),
        _env_file=None,  # type: ignore[call-arg]
    )
    broker = make_broker(redis_url, namespace=QUEUE)
    dispatcher = BrokerDispatcher(broker, HANDLERS, queue=QUEUE)
    broker.flush_all()  # after declaring the queue: flush_all empties the queues the broker knows
    clock = SimulatedClock(DOWN_AT)
    rt = Runtime(
        settings=settings, db=make_engine(database_url), clock=clock, templates=TemplateStore(), dispatcher=dispatcher
    )
    return rt, clock, broker


def _take_down(rt: Runtime, clock: SimulatedClock) -> None:
    """Checkout goes down, and stays down past the debounce."""
    with rt.unit_of_work() as session:
        seed_templates(session, now=clock.now())
        event = {
            "id": "bench-down",
            "type": "service.status",
            "occurred_at": format_instant(clock.now()),
            "service": {"component": "checkout", "status": "major_outage", "incident_id": "INC-1", "title": "Checkout"},
        }
        stored = store_events(
            session, source=FeedSource.EVENTS, events=parse_events([event]), received_at=clock.now(), queue=False
        )
    apply_event(rt, stored.accepted[0])
    clock.advance(timedelta(minutes=15))  # past the 10-minute debounce


def _approve(rt: Runtime, clock: SimulatedClock) -> None:
    started = time.perf_counter()
    scan_outages(rt)  # over FOREWARN_FANOUT_APPROVAL: asks staff, with a preview
    asked = time.perf_counter() - started
    with Session(rt.db) as session:
        approval = session.exec(select(FanoutApproval)).one()
    with rt.unit_of_work() as session:
        approve(session, approval.id or 0, actor="staff:bench", at=clock.now())
    print(f"approval requested for {approval.recipients:,} recipients in {asked:.2f} s; approved")


def _fan_out(rt: Runtime, broker: dramatiq.Broker, redis_url: str, combos: int) -> tuple[int, int, int, float]:
    """The timed, announcing scan: (customers told, notices, notices queued, seconds)."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for _ in range(3):  # open the pool's connections now, so their backends' CPU is counted from here
        _postgres_cpu(rt.db)
    started, cpu_started, pg_started = time.perf_counter(), time.process_time(), _postgres_cpu(rt.db)
    told = scan_outages(rt)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    pg_cpu = _postgres_cpu(rt.db) - pg_started
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with Session(rt.db) as session:
        by_channel = dict(
            session.exec(select(Notice.channel, func.count(col(Notice.id))).group_by(col(Notice.channel))).all()
        )
        queued = session.exec(select(func.count(col(Notice.id))).where(col(Notice.enqueued_at).is_not(None))).one()
        deferred = session.exec(select(func.count(col(Notice.id))).where(col(Notice.deferred))).one()
    notices = sum(by_channel.values())
    in_redis = _queued_ids(redis_url)
    assert in_redis == queued, (in_redis, queued)
    print(
        f"fan-out: {told:,} customers told, {notices:,} notices ({by_channel.get('email', 0):,} email,"
        f" {by_channel.get('sms', 0):,} sms, {deferred:,} held for quiet hours), {queued:,} ids in Redis"
        f" in {broker.client.hlen(f'{QUEUE}:{QUEUE}.msgs'):,} jobs"
    )
    print(f"  customers share {combos:,} (first name, language, time zone) combinations")
    print(
        f"  CPU: this process {cpu:.1f} s, its PostgreSQL backends {pg_cpu:.1f} s, over {seconds:.1f} s"
        f" (machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    print(f"  bench process peak RSS {rss_peak:.0f} MB ({rss_before:.0f} MB before the fan-out)")
    return told, notices, queued, seconds


def _resolve(rt: Runtime, clock: SimulatedClock) -> str:
    """Checkout is fixed: the status event closes the first page of threads in its own transaction, then
    `incidents.sync_threads` (run here in-process, as a worker would) closes the rest a page at a time."""
    clock.advance(timedelta(minutes=15))
    with Session(rt.db) as session:
        notices_before = session.exec(select(func.count(col(Notice.id)))).one()
    event = {
        "id": "bench-fixed",
        "type": "service.status",
        "occurred_at": format_instant(clock.now()),
        "service": {"component": "checkout", "status": "operational", "incident_id": "INC-1", "title": "Checkout"},
    }
    with rt.unit_of_work() as session:
        stored = store_events(
            session, source=FeedSource.EVENTS, events=parse_events([event]), received_at=clock.now(), queue=False
        )
    started = time.perf_counter()
    apply_event(rt, stored.accepted[0])
    in_event = time.perf_counter() - started
    pages = sync_threads(rt, "INC-1")
    seconds = time.perf_counter() - started
    with Session(rt.db) as session:
        resolved = session.exec(select(func.count(col(Notice.id))).where(Notice.stage == "resolved")).one()
        dropped = session.exec(select(func.count(col(Notice.id))).where(Notice.status == "dropped")).one()
        total = session.exec(select(func.count(col(Notice.id)))).one()
    assert total - notices_before == resolved
    return (
        f"resolution: every thread closed in {seconds:.1f} s; the status event's transaction {in_event:.2f} s, then"
        f" {pages} page transactions of up to {rt.settings.fanout_batch:,} threads"
        f" (mean {(seconds - in_event) / max(pages, 1):.2f} s);"
        f" {resolved:,} resolved notices (only to channels a warning went out on), {dropped:,} unsent warnings dropped"
    )


def _drain(database_url: str, redis_url: str, queued: int) -> tuple[int, float, float]:
    with smtp_sink() as port, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(database_url, pool_size=1)
        env = forewarn_env(
            database_url,
            redis_url,
            QUEUE,
            FOREWARN_SMTP_URL=f"smtp://127.0.0.1:{port}",
            FOREWARN_SMS_DIR=str(Path(tmp) / "sms"),
        )
        worker = subprocess.Popen([sys.executable, "-m", "engine.cli", "worker"], env=env)
        started = time.perf_counter()
        done = 0
        try:
            while time.perf_counter() - started < DRAIN_SECONDS:
                time.sleep(1)
                with Session(engine) as session:
                    done = session.exec(
                        select(func.count(col(Notice.id))).where(col(Notice.status).in_(("sent", "failed")))
                    ).one()
                if done >= queued or worker.poll() is not None:
                    break
            seconds = time.perf_counter() - started
            peak = peak_rss_mb(worker.pid)
        finally:
            stop_workers([worker])
            engine.dispose()
    return done, seconds, peak


if __name__ == "__main__":
    main()
