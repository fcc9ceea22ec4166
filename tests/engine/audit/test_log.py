"""Appending many audit entries at once builds the very chain that appending them one by one would."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlmodel import Session, col, select
from support.databases import tampering

from engine import audit
from engine.audit import Entry, verify_chain
from engine.clock import SimulatedClock
from engine.models import AuditEntry
from engine.runtime import Runtime


def entries(clock: SimulatedClock, n: int, prefix: str) -> list[Entry]:
    return [
        Entry(
            at=clock.now() + timedelta(seconds=i),
            actor="system",
            action="notice.planned",
            subject=f"notice:{prefix}{i}",
            details={"stage": "initial", "send_at": clock.now(), "name": "Ana Souza ☕", "n": i},
        )
        for i in range(n)
    ]


def chain(rt: Runtime) -> list[tuple[int, str, str, str]]:
    with Session(rt.db) as session:
        rows = session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))).all()
    return [(e.seq, e.subject, e.prev_hash, e.hash) for e in rows]


def test_bulk_and_single_appends_interleave_into_one_verified_chain(rt: Runtime, clock: SimulatedClock) -> None:
    first, second = entries(clock, 3, "a"), entries(clock, 250, "b")
    before = len(chain(rt))  # seeding the templates was audited already
    with rt.unit_of_work() as session:
        audit.append(session, at=clock.now(), actor="system", action="x.started", subject="x:1")
        assert audit.append_many(session, first) == before + 4
        audit.append(session, at=clock.now(), actor="system", action="x.middle", subject="x:2")
    with rt.unit_of_work() as session:  # a new transaction reads the head from the table again
        assert audit.append_many(session, []) == before + 5
        assert audit.append_many(session, second) == before + 255
    bulk = chain(rt)[before:]
    assert [seq for seq, *_ in bulk] == list(range(before + 1, before + 256))
    assert verify_chain(rt.db).ok and verify_chain(rt.db).checked == before + 255

    # The same entries appended one at a time give the same hashes, entry for entry.
    with tampering(rt.db) as conn:
        conn.exec_driver_sql(f"DELETE FROM audit_entries WHERE seq > {before}")
    with rt.unit_of_work() as session:
        audit.append(session, at=clock.now(), actor="system", action="x.started", subject="x:1")
        for item in first:
            audit.append(
                session, at=item.at, actor=item.actor, action=item.action, subject=item.subject, details=item.details
            )
        audit.append(session, at=clock.now(), actor="system", action="x.middle", subject="x:2")
        for item in second:
            audit.append(
                session, at=item.at, actor=item.actor, action=item.action, subject=item.subject, details=item.details
            )
    assert chain(rt)[before:] == bulk


def test_writers_appending_at_once_each_wait_their_turn_and_the_chain_stays_whole(
    rt: Runtime, clock: SimulatedClock
) -> None:
    """Each transaction reads the head only once it holds the chain lock (on PostgreSQL both in one round
    trip): appends racing from many threads never fork the chain or reuse a seq."""
    before = len(chain(rt))

    def append_some(writer: int) -> None:
        for batch in range(5):
            with rt.unit_of_work() as session:
                audit.append_many(session, entries(clock, 3, f"w{writer}-{batch}-"))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(append_some, range(4)))
    assert [seq for seq, *_ in chain(rt)] == list(range(1, before + 4 * 5 * 3 + 1))
    assert verify_chain(rt.db).ok
