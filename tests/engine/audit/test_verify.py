"""The audit chain: every decision is recorded, the database refuses to change it, and any edit or
deletion made around the refusal (as the table's owner could) is found by `audit verify`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, func, select
from support import builders
from support.databases import tampering
from support.pipeline import drain

from engine import audit
from engine.audit import verify_chain
from engine.clock import SimulatedClock
from engine.events import parse_events
from engine.inbound.service import store_events
from engine.models import AuditEntry
from engine.runtime import Runtime


def load_story(rt: Runtime, clock: SimulatedClock) -> None:
    t = clock.now()
    events = parse_events(
        [
            builders.customer_upserted(t),
            builders.order_created(t),
            builders.shipment(t, "exception", exception="damaged"),
        ]
    )
    with rt.unit_of_work() as session:
        store_events(session, source="events", events=events, received_at=t, queue=False)
    drain(rt)


def test_decisions_are_in_the_chain_and_it_verifies(rt: Runtime, clock: SimulatedClock) -> None:
    load_story(rt, clock)
    with Session(rt.db) as session:
        actions = session.exec(select(AuditEntry.action).order_by(col(AuditEntry.seq))).all()
    assert actions.count("event.accepted") == 3
    assert "situation.opened" in actions
    assert actions.count("notice.planned") == 2 and actions.count("notice.sent") == 2
    result = verify_chain(rt.db)
    assert result.ok and result.checked == len(actions)


def entry_count(rt: Runtime) -> int:
    with Session(rt.db) as session:
        return session.exec(select(func.count()).select_from(AuditEntry)).one()


def test_the_database_refuses_to_change_the_log(rt: Runtime, clock: SimulatedClock) -> None:
    load_story(rt, clock)
    before = entry_count(rt)
    statements = ["UPDATE audit_entries SET actor = 'staff:mallory' WHERE seq = 4", "DELETE FROM audit_entries"]
    if rt.db.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_entries")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), rt.db.begin() as conn:
            conn.execute(text(statement))
    assert entry_count(rt) == before and verify_chain(rt.db).ok


def test_an_edited_entry_breaks_the_chain_and_the_cli_names_it(
    rt: Runtime, clock: SimulatedClock, tmp_path: Path
) -> None:
    load_story(rt, clock)
    with tampering(rt.db) as conn:
        conn.execute(text("UPDATE audit_entries SET actor = 'staff:mallory' WHERE seq = 4"))
    result = verify_chain(rt.db)
    assert not result.ok and result.broken_seq == 4 and "hash" in (result.reason or "")
    env = {
        **os.environ,
        "FOREWARN_DATABASE_URL": rt.settings.database_url,
        "FOREWARN_AUDIT_CHECKPOINT_FILE": str(tmp_path / "none-yet.jsonl"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "entry 4" in proc.stderr


def test_a_deleted_entry_is_found(rt: Runtime, clock: SimulatedClock) -> None:
    load_story(rt, clock)
    with tampering(rt.db) as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq = 3"))
    result = verify_chain(rt.db)
    assert not result.ok and result.broken_seq == 4 and "missing" in (result.reason or "")


def test_a_customers_words_sit_beside_the_chain_and_an_edit_or_a_deletion_of_them_is_found(
    rt: Runtime, clock: SimulatedClock
) -> None:
    load_story(rt, clock)
    with rt.unit_of_work() as session:
        audit.append(
            session,
            at=clock.now(),
            actor="customer",
            action="customer.replied",
            subject="customer:C1",
            details={"channel": "sms"},
            personal=audit.Personal("C1", {"text": "ring the bell twice"}),
        )
    with Session(rt.db) as session:
        seq = session.exec(select(func.max(AuditEntry.seq))).one()
        entry = session.get(AuditEntry, seq)
        assert entry is not None and "ring the bell" not in str(entry.details)
    assert verify_chain(rt.db).ok

    with rt.db.begin() as conn:  # not chained, so not refused: erasure deletes these rows
        conn.execute(text(f'UPDATE audit_personal SET data = \'{{"text": "ring once"}}\' WHERE seq = {seq}'))
    edited = verify_chain(rt.db)
    assert not edited.ok and edited.broken_seq == seq and "personal part was edited" in (edited.reason or "")

    with rt.db.begin() as conn:
        conn.execute(text(f"DELETE FROM audit_personal WHERE seq = {seq}"))
    gone = verify_chain(rt.db)
    assert not gone.ok and gone.broken_seq == seq and "records no erasure" in (gone.reason or "")
