"""The chain's head, checkpointed outside the database each scheduler tick, catches what a valid-looking
chain hides: its newest entries deleted, or everything after an edit signed again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select
from support import builders
from support.databases import tampering
from support.pipeline import drain

from engine.audit import entry_hash, verify_chain
from engine.audit.checkpoint import CheckpointError, read_checkpoints, write_checkpoint
from engine.audit.keys import Signer, signer_for
from engine.audit.log import GENESIS
from engine.audit.verify import verify_with_checkpoints
from engine.clock import SimulatedClock
from engine.events import parse_events
from engine.inbound.service import store_events
from engine.models import AuditEntry
from engine.runtime import Runtime
from engine.scheduler import tick


def story(rt: Runtime, clock: SimulatedClock) -> None:
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


def checkpoint_file(rt: Runtime) -> Path:
    return Path(rt.settings.audit_checkpoint_file)


def head(rt: Runtime) -> int:
    with Session(rt.db) as session:
        return session.exec(select(AuditEntry.seq).order_by(col(AuditEntry.seq).desc()).limit(1)).one()


def rechain(rt: Runtime, signer: Signer, *, edit_seq: int) -> None:
    """What someone who can write the table does to hide an edit: sign every entry again, in order."""
    with tampering(rt.db) as conn:
        conn.execute(text(f"UPDATE audit_entries SET actor = 'staff:mallory' WHERE seq = {edit_seq}"))
    with Session(rt.db) as session:
        entries = session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))).all()
        prev, fixed = GENESIS, []
        for e in entries:
            digest = entry_hash(signer, {**e.chained(), "prev_hash": prev})
            fixed.append((e.seq, prev, digest))
            prev = digest
    with tampering(rt.db) as conn:
        conn.execute(text("UPDATE audit_entries SET hash = 'x' || CAST(seq AS VARCHAR)"))
        for seq, prev_hash, digest in fixed:
            conn.execute(
                text("UPDATE audit_entries SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev_hash, "h": digest, "s": seq},
            )


def test_the_scheduler_writes_the_head_when_it_moved(rt: Runtime, clock: SimulatedClock) -> None:
    story(rt, clock)
    tick(rt)
    tick(rt)  # nothing new: no second line
    points = read_checkpoints(checkpoint_file(rt), signer_for(rt.db))
    assert len(points) == 1 and points[0].seq == head(rt)  # the tick itself appended nothing
    story_again = builders.customer_upserted(clock.now(), name="Ana Souza Lima")
    with rt.unit_of_work() as session:
        store_events(session, source="events", events=parse_events([story_again]), received_at=clock.now(), queue=False)
    drain(rt)
    tick(rt)
    points = read_checkpoints(checkpoint_file(rt), signer_for(rt.db))
    assert [p.seq for p in points] == [points[0].seq, head(rt)] and points[1].seq > points[0].seq
    assert verify_with_checkpoints(rt.db, checkpoint_file(rt)).ok


def test_deleting_the_newest_entries_is_caught_and_the_cli_says_so(rt: Runtime, clock: SimulatedClock) -> None:
    story(rt, clock)
    assert write_checkpoint(rt) is not None
    last = head(rt)
    with tampering(rt.db) as conn:
        conn.execute(text(f"DELETE FROM audit_entries WHERE seq > {last - 3}"))

    assert verify_chain(rt.db).ok  # a shorter chain is still a valid chain: this is what the checkpoint is for
    result = verify_with_checkpoints(rt.db, checkpoint_file(rt))
    assert not result.ok and result.broken_seq == last - 2 and "newest entries were deleted" in (result.reason or "")

    env = {
        **os.environ,
        "FOREWARN_DATABASE_URL": rt.settings.database_url,
        "FOREWARN_AUDIT_CHECKPOINT_FILE": str(checkpoint_file(rt)),
    }
    run = [sys.executable, "-m", "engine.cli", "audit", "verify"]
    proc = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and f"entry {last - 2}" in proc.stderr and "deleted" in proc.stderr


def test_rechaining_without_the_key_is_caught_by_the_signatures(rt: Runtime, clock: SimulatedClock) -> None:
    story(rt, clock)
    rechain(rt, Signer("a key that is not the deployment's"), edit_seq=4)
    result = verify_chain(rt.db)
    assert not result.ok and result.broken_seq == 1 and "another key" in (result.reason or "")


def test_rechaining_with_the_key_is_caught_by_the_checkpoint(rt: Runtime, clock: SimulatedClock) -> None:
    story(rt, clock)
    point = write_checkpoint(rt)
    assert point is not None
    rechain(rt, signer_for(rt.db), edit_seq=4)  # an insider who has the key as well

    assert verify_chain(rt.db).ok
    result = verify_with_checkpoints(rt.db, checkpoint_file(rt))
    assert not result.ok and result.broken_seq == point.seq and "rewritten" in (result.reason or "")


def test_a_checkpoint_edited_to_match_a_shorter_chain_is_refused(rt: Runtime, clock: SimulatedClock) -> None:
    story(rt, clock)
    write_checkpoint(rt)
    path = checkpoint_file(rt)
    record = json.loads(path.read_text())
    with Session(rt.db) as session:
        earlier = session.get(AuditEntry, record["seq"] - 3)
        assert earlier is not None
    path.write_text(json.dumps({**record, "seq": earlier.seq, "hash": earlier.hash}) + "\n")
    with pytest.raises(CheckpointError, match="line 1 is not signed"):
        read_checkpoints(path, signer_for(rt.db))
    result = verify_with_checkpoints(rt.db, path)
    assert not result.ok and "not signed with this audit key" in (result.reason or "")
