"""What the benchmarks share: a fresh database, an SMTP sink in its own process, a free port, stopping
worker processes and reading their peak RSS, the customers table's COPY and a `forewarn` process's
environment."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from engine.db.migrations import upgrade

# An SMTP server that accepts every message and discards it: what is timed is the sender, not a mailbox.
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

# Every customers column a seeded customer gives, in the order a COPY row lists them.
COPY_CUSTOMERS = (
    "COPY customers (id, name, email, phone, locale, timezone, channels, components, quiet_hours, email_opted_out,"
    " extra, created_at, updated_at) FROM STDIN"
)


def forewarn_env(database_url: str, redis_url: str, queue: str, **settings: str) -> dict[str, str]:
    """The environment a bench starts a `forewarn` process with: its database, broker and queue, warnings
    only in the log, and `settings` (FOREWARN_* names) on top."""
    return {
        **os.environ,
        "FOREWARN_DATABASE_URL": database_url,
        "FOREWARN_BROKER_URL": redis_url,
        "FOREWARN_QUEUE_NAME": queue,
        "FOREWARN_LOG_LEVEL": "WARNING",
        **settings,
    }


@contextmanager
def scratch_env(database_url: str, redis_url: str, queue: str, **settings: str) -> Iterator[tuple[str, dict[str, str]]]:
    """A scratch directory, removed after, and the `forewarn_env` of processes that keep their audit
    checkpoints in it (what `serve` writes must not land in the repository)."""
    with tempfile.TemporaryDirectory() as scratch:
        checkpoints = f"{scratch}/checkpoints.jsonl"
        yield (
            scratch,
            forewarn_env(database_url, redis_url, queue, FOREWARN_AUDIT_CHECKPOINT_FILE=checkpoints, **settings),
        )


def conninfo(url: str) -> str:
    """psycopg's connection string for a SQLAlchemy database URL (for COPY, which the ORM has no word for)."""
    parsed = make_url(url)
    return (
        f"host={parsed.host} port={parsed.port or 5432} user={parsed.username or 'postgres'} dbname={parsed.database}"
    )


def fresh_database(admin: str, name: str) -> str:
    """Drop and create database `name` on the server `admin` points at, migrate it, and return its URL."""
    url = make_url(admin)
    with psycopg.connect(conninfo(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    target = url.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    upgrade(target)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_sink() -> Iterator[int]:
    """Run SINK in its own process (so its CPU is not the benchmark's) and yield the port it listens on."""
    port = free_port()
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        yield port
    finally:
        sink.terminate()
        sink.wait()


def stop_workers(workers: Sequence[subprocess.Popen[Any]]) -> None:
    """SIGTERM every `forewarn worker` first (they shut down together), then wait for each; kill one that
    takes over a minute."""
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def peak_rss_mb(pid: int) -> float:
    """A running process's peak resident set size (VmHWM), in MB; Linux only."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0
