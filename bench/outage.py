"""One outage to BENCH_OUTAGE_CUSTOMERS (5,000) email customers, from the status event to the last email at an
SMTP server in its own process, against plain smtplib sending the same messages to the same server.

    python -m bench.outage      (PostgreSQL + Redis from FOREWARN_BENCH_POSTGRES_URL / _REDIS_URL)

Forewarn's side is the scaled-out deployment: `forewarn serve` (the signed status event arrives as a
webhook), one `forewarn scheduler` (debounce BENCH_OUTAGE_DEBOUNCE, 1 s, scanning every second) and
BENCH_OUTAGE_WORKERS (2) `forewarn worker` processes, on PostgreSQL with a Redis broker. The clock starts
when the webhook is answered 202 and stops when the sink has every message. The sink notes when each
message's first SMTP byte after the previous one (its MAIL command) arrives, on the machine's monotonic
clock (shared by every process), which gives p50/p99 from the event accepted to each customer's first
byte. The baseline builds each message with the channel's own code and sends it over one smtplib
connection; it runs before and after Forewarn and the ratio is against their mean.
"""

from __future__ import annotations

import json
import os
import smtplib
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import psycopg

from bench.common import COPY_CUSTOMERS, conninfo, free_port, fresh_database, scratch_env, stop_workers
from bench.webhooks import SECRET
from engine.delivery.channel import OutboundMessage
from integrations.channels.email_message import build_email, to_wire
from integrations.feeds.standard_webhooks import sign

CUSTOMERS = int(os.environ.get("BENCH_OUTAGE_CUSTOMERS", "5000"))
WORKERS = int(os.environ.get("BENCH_OUTAGE_WORKERS", "2"))
DEBOUNCE = os.environ.get("BENCH_OUTAGE_DEBOUNCE", "1s")
DATABASE = os.environ.get("BENCH_OUTAGE_DATABASE", "forewarn_bench_outage")
QUEUE = "forewarn-bench-outage"
STALL_SECONDS = 60
BODY = "Hi Sam,\n\nCheckout is down: you cannot pay for an order right now. We are working on it. " * 4

# An SMTP server that counts: the monotonic time of each message's MAIL command (its first byte after the
# previous message) and of the last message's end. `stats` on stdin answers one JSON line.
SINK = """
import json, sys, time
from aiosmtpd.controller import Controller
firsts, last = [], [0.0]
class Count:
    async def handle_MAIL(self, server, session, envelope, address, options):
        firsts.append(time.monotonic()); envelope.mail_from = address; envelope.mail_options.extend(options)
        return "250 OK"
    async def handle_DATA(self, server, session, envelope):
        last[0] = time.monotonic(); return "250 OK"
c = Controller(Count(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start(); print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "reset": firsts.clear(); last[0] = 0.0; print("ok", flush=True)
    else: print(json.dumps({"firsts": firsts, "last": last[0]}), flush=True)
"""


@dataclass(frozen=True)
class Figures:
    smtplib_before: float  # seconds for the same messages
    smtplib_after: float
    forewarn: float  # seconds from 202 to the last message at the sink
    delivered: int
    first_bytes: list[float]  # seconds from 202 to each message's MAIL

    @property
    def smtplib(self) -> float:
        return (self.smtplib_before + self.smtplib_after) / 2

    @property
    def ratio(self) -> float:
        return self.smtplib / self.forewarn

    def percentile(self, p: float) -> float:
        ordered = sorted(self.first_bytes)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


class Sink:
    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-c", SINK, str(self.port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._read() == "ready"

    def _read(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def _ask(self, line: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self._read()

    def reset(self) -> None:
        assert self._ask("reset") == "ok"

    def stats(self) -> tuple[list[float], float]:
        answer = json.loads(self._ask("stats"))
        return answer["firsts"], answer["last"]

    def close(self) -> None:
        self.process.terminate()
        self.process.wait()


def plain_smtplib(port: int) -> float:
    """Seconds to send one message per customer over one connection, built as the channel builds it."""
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as conn:
        for i in range(CUSTOMERS):
            to = f"c{i:05d}@example.com"
            msg = build_email(
                OutboundMessage(
                    notice_id=i,
                    channel="email",
                    recipient=to,
                    body=BODY,
                    subject="Checkout is down",
                    html=f"<p>{BODY}</p>",
                    message_id=f"n{i}@bench",
                ),
                sender="Shop <n@example.com>",
                reply_to=None,
                date=datetime.now(UTC),
            )
            conn.sendmail("n@example.com", [to], to_wire(msg))
    return time.perf_counter() - started


def _seed(url: str) -> None:
    """CUSTOMERS email-only customers subscribed to checkout (COPY; not timed)."""
    now = datetime.now(UTC)
    with psycopg.connect(conninfo(url)) as conn, conn.cursor() as cur:
        with cur.copy(COPY_CUSTOMERS) as copy:
            for i in range(CUSTOMERS):
                row = (f"C{i:05d}", f"Sam {i}", f"c{i:05d}@example.com", None, "en", "UTC", '["email"]')
                copy.write_row((*row, '["checkout"]', None, False, "{}", now, now))
        cur.execute("INSERT INTO customer_components (customer_id, component) SELECT id, 'checkout' FROM customers")
        cur.execute("ANALYZE")
        conn.commit()


@contextmanager
def deployment(database_url: str, redis_url: str, smtp_port: int) -> Iterator[int]:
    """serve + scheduler + WORKERS workers, as docs/deploy.md lays them out; yields the API's port."""
    from engine.wiring import make_broker

    broker = make_broker(redis_url, namespace=QUEUE)
    broker.flush_all()
    broker.close()
    port = free_port()
    settings = {
        "FOREWARN_WEBHOOK_SECRET_EVENTS": SECRET,
        "FOREWARN_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "FOREWARN_OUTAGE_DEBOUNCE": DEBOUNCE,
        "FOREWARN_SCHEDULER_INTERVAL": "1s",
        "FOREWARN_FANOUT_APPROVAL": str(CUSTOMERS + 1),
    }
    with scratch_env(database_url, redis_url, QUEUE, **settings) as (scratch, env):
        env["FOREWARN_SMS_DIR"] = f"{scratch}/sms"
        cli = [sys.executable, "-m", "engine.cli"]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        serve = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, **quiet)  # type: ignore[call-overload]
        workers = [
            subprocess.Popen([*cli, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            for _ in range(WORKERS)
        ]
        scheduler = None
        try:
            for worker in workers:
                assert worker.stdout is not None and "worker started" in worker.stdout.readline()
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or serve.poll() is not None:
                    raise SystemExit("forewarn serve did not answer")
                time.sleep(0.2)
            # Started and ticking before the clock starts: what is timed is the engine, not Python's imports.
            scheduler = subprocess.Popen(
                [*cli, "scheduler"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
            )
            assert scheduler.stdout is not None and "scheduler ticking" in scheduler.stdout.readline()
            time.sleep(1.5)  # its first tick (migrations checked, templates seeded) is behind it
            yield port
        finally:
            for process in [serve, *([scheduler] if scheduler else [])]:
                process.terminate()
                process.wait(timeout=30)
            stop_workers(workers)


def _status_event(port: int) -> float:
    """Post `checkout` down; the monotonic time at which it was answered 202."""
    body = json.dumps(
        {
            "id": "bench-outage-down",
            "type": "service.status",
            "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "service": {"component": "checkout", "status": "major_outage", "incident_id": "INC-B", "title": "Checkout"},
        }
    ).encode()
    stamp = int(time.time())
    headers = {
        "webhook-id": "bench-outage-down",
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(SECRET, msg_id="bench-outage-down", timestamp=stamp, body=body),
        "content-type": "application/json",
    }
    answer = httpx.post(f"http://127.0.0.1:{port}/webhooks/events", content=body, headers=headers, timeout=30)
    accepted = time.monotonic()
    if answer.status_code != 202:
        raise SystemExit(f"the status event was answered {answer.status_code}: {answer.text[:300]}")
    return accepted


def forewarn(sink: Sink, database_url: str, redis_url: str) -> tuple[float, int, list[float]]:
    with deployment(database_url, redis_url, sink.port) as port:
        sink.reset()
        accepted = _status_event(port)
        count, progressed = 0, time.monotonic()
        while count < CUSTOMERS:
            time.sleep(0.2)
            firsts, last = sink.stats()
            if len(firsts) > count:
                count, progressed = len(firsts), time.monotonic()
            elif time.monotonic() - progressed > STALL_SECONDS:
                raise SystemExit(f"no email for {STALL_SECONDS} s after {count} of {CUSTOMERS}")
        time.sleep(1)  # a straggler would be a duplicate: count again once everything settled
        firsts, last = sink.stats()
    return last - accepted, len(firsts), [first - accepted for first in firsts]


def measure() -> Figures:
    database_url = fresh_database(
        os.environ.get("FOREWARN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"), DATABASE
    )
    redis_url = os.environ.get("FOREWARN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    _seed(database_url)
    sink = Sink()
    try:
        before = plain_smtplib(sink.port)
        seconds, delivered, first_bytes = forewarn(sink, database_url, redis_url)
        after = plain_smtplib(sink.port)
    finally:
        sink.close()
    return Figures(before, after, seconds, delivered, first_bytes)


def lines(figures: Figures) -> list[str]:
    return [
        f"outage: {CUSTOMERS:,} email customers, status event to last email {figures.forewarn:.1f} s"
        f" ({WORKERS} workers, debounce {DEBOUNCE}); plain smtplib {figures.smtplib_before:.1f} s before,"
        f" {figures.smtplib_after:.1f} s after; {figures.delivered:,} messages at the sink",
        f"  ratio smtplib / forewarn: {figures.ratio:.2f} (target >= 0.6)",
        f"  event accepted to first SMTP byte: p50 {figures.percentile(0.5):.2f} s,"
        f" p99 {figures.percentile(0.99):.2f} s (mean {statistics.fmean(figures.first_bytes or [0]):.2f} s)",
    ]


def main() -> None:
    for line in lines(measure()):
        print(line)


if __name__ == "__main__":
    main()
