"""Walk the chain and report the first entry whose signature, link or personal part does not hold, and
whether it still reaches every head that was checkpointed outside the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from engine.audit import personal
from engine.audit.checkpoint import Checkpoint, CheckpointError, read_checkpoints
from engine.audit.keys import Signer, signer_for
from engine.audit.log import GENESIS, entry_hash
from engine.clock import format_instant
from engine.models import AuditEntry, AuditPersonal


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str | None = None
    checkpoints: int = 0  # checkpointed heads the chain still reaches
    erased: int = 0  # personal parts gone with their customer's erasure


@dataclass
class _Walk:
    checkpoints: dict[int, Checkpoint]
    erased_customers: set[str] = field(default_factory=set)
    missing: list[tuple[int, str]] = field(default_factory=list)  # (seq, customer) whose personal row is gone
    reached: int = 0


def verify_chain(
    engine: Engine, *, signer: Signer | None = None, checkpoints: Sequence[Checkpoint] = (), batch: int = 5000
) -> VerifyResult:
    """`signer`: the audit key (by default the one bound to `engine`); `checkpoints`: heads written down
    earlier (engine.audit.checkpoint), each of which the chain must still contain exactly."""
    signer = signer or signer_for(engine)
    walk = _Walk({c.seq: c for c in checkpoints})
    expected_seq, prev, checked = 1, GENESIS, 0
    with Session(engine) as session:
        while True:
            rows = session.exec(
                select(AuditEntry).where(AuditEntry.seq >= expected_seq).order_by(col(AuditEntry.seq)).limit(batch)
            ).all()
            if not rows:
                break
            kept = _personal_rows(session, rows)
            for entry in rows:
                problem = _check(entry, expected_seq, prev, signer) or _check_more(entry, walk, kept)
                if problem:
                    return VerifyResult(False, checked, entry.seq, problem, walk.reached)
                checked += 1
                expected_seq, prev = entry.seq + 1, entry.hash
            session.expunge_all()
    return _finish(walk, checked)


def _finish(walk: _Walk, checked: int) -> VerifyResult:
    beyond = [c for c in walk.checkpoints.values() if c.seq >= checked + 1]
    if beyond:
        newest = max(beyond, key=lambda c: c.seq)
        reason = (
            f"the chain ends at entry {checked}, but a checkpoint written {format_instant(newest.at)} saw entry "
            f"{newest.seq}: the newest entries were deleted"
        )
        return VerifyResult(False, checked, checked + 1, reason, walk.reached)
    for seq, customer in walk.missing:
        if customer not in walk.erased_customers:
            reason = "its personal part was deleted, and the chain records no erasure of that customer"
            return VerifyResult(False, checked, seq, reason, walk.reached)
    return VerifyResult(True, checked, checkpoints=walk.reached, erased=len(walk.missing))


def _personal_rows(session: Session, rows: Sequence[AuditEntry]) -> dict[int, AuditPersonal]:
    wanted = [e.seq for e in rows if personal.reference_of(e.details) is not None]
    if not wanted:
        return {}
    found = session.exec(select(AuditPersonal).where(col(AuditPersonal.seq).in_(wanted))).all()
    return {row.seq: row for row in found}


def _check(entry: AuditEntry, expected_seq: int, prev: str, signer: Signer) -> str | None:
    if entry.seq != expected_seq:
        return f"entry {expected_seq} is missing (next present is {entry.seq})"
    if entry.prev_hash != prev:
        return "its prev_hash does not match the entry before it"
    if entry_hash(signer, entry.chained()) != entry.hash:
        return "its content does not match its hash (edited after it was written, or signed with another key)"
    return None


def _check_more(entry: AuditEntry, walk: _Walk, kept: dict[int, AuditPersonal]) -> str | None:
    point = walk.checkpoints.get(entry.seq)
    if point is not None:
        if point.hash != entry.hash:
            return f"it is not the entry checkpointed at {format_instant(point.at)}: the chain was rewritten"
        walk.reached += 1
    if entry.action == personal.ERASED:
        walk.erased_customers.add(entry.subject.removeprefix("customer:"))
    reference = personal.reference_of(entry.details)
    if reference is None:
        return None
    row = kept.get(entry.seq)
    if row is None:
        walk.missing.append((entry.seq, reference.get("of", "")))
    elif not personal.matches(reference, row):
        return "its personal part was edited after it was written"
    return None


def verify_with_checkpoints(engine: Engine, path: Path, *, signer: Signer | None = None) -> VerifyResult:
    """`verify_chain` against every head written to the checkpoint file at `path` (none yet: the chain alone)."""
    signer = signer or signer_for(engine)
    try:
        checkpoints = read_checkpoints(path, signer)
    except CheckpointError as exc:
        return VerifyResult(False, 0, None, f"{exc} ({path})")
    return verify_chain(engine, signer=signer, checkpoints=checkpoints)
