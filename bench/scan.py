"""Scan benchmark: 1,000,000 open orders, 1,000 due; the due query must cost what is due, not what is open.

FOREWARN_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test python -m bench.scan
"""

from __future__ import annotations

import io
import os
import statistics
import time
from datetime import UTC, datetime, timedelta

import psycopg
from sqlmodel import Session, col, select

from bench.common import conninfo, fresh_database
from engine.db import make_engine
from engine.models import Order

OPEN = int(os.environ.get("BENCH_OPEN_ORDERS", "1000000"))
DATABASE = os.environ.get("BENCH_SCAN_DATABASE", "forewarn_bench")
DUE = 1000
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _fill(url: str) -> None:
    with psycopg.connect(conninfo(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO customers (id, name, locale, timezone, channels, components, extra, email_opted_out,"
            " created_at, updated_at) SELECT 'C' || g, 'Bench', 'en', 'UTC', '[]', '[]', '{}',"
            " false, now(), now() FROM generate_series(1, 1000) g"
        )
        buffer = io.StringIO()
        for i in range(OPEN):
            due = NOW - timedelta(minutes=1 + i % 60) if i < DUE else NOW + timedelta(minutes=5 + i % 100_000)
            buffer.write(f"O{i}\tC{1 + i % 1000}\t[]\t{due.isoformat()}\t{NOW.isoformat()}\t{NOW.isoformat()}\n")
        buffer.seek(0)
        with cur.copy("COPY orders (id, customer_id, lines, next_check_at, created_at, updated_at) FROM STDIN") as copy:
            copy.write(buffer.read())
        cur.execute("ANALYZE orders")
        conn.commit()


def main() -> None:
    url = fresh_database(
        os.environ.get("FOREWARN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"), DATABASE
    )
    started = time.perf_counter()
    _fill(url)
    print(f"filled {OPEN:,} open orders ({DUE:,} due) in {time.perf_counter() - started:.1f} s")
    engine = make_engine(url)
    timings = []
    with Session(engine) as session:
        for _ in range(20):
            t = time.perf_counter()
            due = session.exec(
                select(Order.id).where(col(Order.next_check_at) <= NOW).order_by(col(Order.next_check_at)).limit(5000)
            ).all()
            timings.append((time.perf_counter() - t) * 1000)
    assert len(due) == DUE, len(due)
    print(
        f"due query: {len(due)} of {OPEN:,} open orders, median {statistics.median(timings):.1f} ms, "
        f"max {max(timings):.1f} ms over {len(timings)} runs (target < 100 ms)"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
