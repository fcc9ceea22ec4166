"""Webhooks stored by group commit: many deliveries at once are each answered after their own events are
stored, a repeat is stored once, the audit chain stays whole, and a delivery the database refuses fails
alone, not the others that shared its transaction."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, func, select
from support import builders
from support.databases import truncate_all
from support.runtime import seeded_runtime

from engine.audit import verify_chain
from engine.clock import SimulatedClock
from engine.config import Settings
from engine.events.schema import CanonicalEvent, parse_event
from engine.inbound.group_commit import GroupCommit
from engine.models import InboundEvent
from engine.runtime import Runtime

# The advisory lock every audit append takes (engine.audit.log): held here, it stalls the group commit.
AUDIT_LOCK = 7_114_221_001


def count_events(rt: Runtime) -> int:
    with Session(rt.db) as session:
        return session.exec(select(func.count(col(InboundEvent.id)))).one()


def test_concurrent_webhooks_are_each_stored_once_and_answered_with_their_own_counts(
    rt: Runtime, client: TestClient, clock: SimulatedClock
) -> None:
    distinct = [builders.customer_upserted(clock.now(), id=f"C{i}") for i in range(24)]
    deliveries = distinct + distinct[:8]  # eight senders retry at the same time as the first try
    signed = [builders.signed([event], now=clock.now()) for event in deliveries]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda s: client.post("/webhooks/events", content=s[0], headers=s[1]), signed))

    assert {a.status_code for a in answers} == {202}
    bodies = [a.json() for a in answers]
    assert sum(b["accepted"] for b in bodies) == 24 and sum(b["duplicates"] for b in bodies) == 8
    assert all(b["accepted"] + b["duplicates"] == 1 for b in bodies)
    assert count_events(rt) == 24
    assert verify_chain(rt.db).ok


@pytest.fixture
def pg_rt(postgres_url: str, tmp_path: Path, clock: SimulatedClock) -> Runtime:
    truncate_all(postgres_url)
    settings = Settings(
        database_url=postgres_url,
        outbox_dir=str(tmp_path / "outbox"),
        audit_checkpoint_file=str(tmp_path / "checkpoints.jsonl"),
        _env_file=None,  # type: ignore[call-arg]
    )
    return seeded_runtime(settings, clock)


def _event(now: datetime, customer: str) -> CanonicalEvent:
    return parse_event(builders.customer_upserted(now, id=customer))


@pytest.mark.postgres
def test_a_delivery_the_database_refuses_fails_alone(pg_rt: Runtime, postgres_url: str, clock: SimulatedClock) -> None:
    now = clock.now()
    # An id past its column's width: what a feed bug would look like once past validation.
    refused = _event(now, "C-bad").model_copy(update={"id": "x" * 250})
    group = GroupCommit(pg_rt)
    try:
        with psycopg.connect(postgres_url.replace("+psycopg", "")) as holder:
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
            first = group.submit("events", [_event(now, "C0")], now)
            # While the first delivery waits for the chain, the others gather into one group behind it.
            futures = [group.submit("events", [_event(now, f"C{i}")], now) for i in (1, 2)]
            futures.insert(1, group.submit("events", [refused], now))
            futures.append(group.submit("events", [_event(now, "C3")], now))
            _wait_for_lock_waiter(holder)
            holder.rollback()  # the chain is free again
        assert first.result(timeout=30).accepted
        with pytest.raises(DBAPIError):
            futures[1].result(timeout=30)
        assert [len(f.result(timeout=30).accepted) for f in (futures[0], *futures[2:])] == [1, 1, 1]
        assert count_events(pg_rt) == 4
        assert verify_chain(pg_rt.db).ok
    finally:
        group.close()
        pg_rt.close()


def _wait_for_lock_waiter(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    deadline = time.monotonic() + 20
    query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory' AND datname = current_database()"
    while time.monotonic() < deadline:
        with psycopg.connect(conn.info.dsn, autocommit=True) as other:
            row = other.execute(query).fetchone()
        if row and row[0]:
            return
        time.sleep(0.05)
    raise AssertionError("the group commit never waited for the audit chain")
