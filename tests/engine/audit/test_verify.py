"""The audit chain: every decision is recorded, and any edit or deletion is found by `audit verify`."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import text
from sqlmodel import Session, col, select
from support import builders
from support.pipeline import drain

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


def test_an_edited_entry_breaks_the_chain_and_the_cli_names_it(rt: Runtime, clock: SimulatedClock) -> None:
    load_story(rt, clock)
    with rt.db.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET actor = 'staff:mallory' WHERE seq = 4"))
    result = verify_chain(rt.db)
    assert not result.ok and result.broken_seq == 4 and "hash" in (result.reason or "")
    env = {**os.environ, "FOREWARN_DATABASE_URL": rt.settings.database_url}
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
    with rt.db.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq = 3"))
    result = verify_chain(rt.db)
    assert not result.ok and result.broken_seq == 4 and "missing" in (result.reason or "")
