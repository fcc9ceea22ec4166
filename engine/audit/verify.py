"""Walk the chain and report the first entry whose hash or link does not hold."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from engine.audit.log import GENESIS, entry_hash
from engine.models import AuditEntry


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str | None = None


def verify_chain(engine: Engine, *, batch: int = 5000) -> VerifyResult:
    expected_seq, prev = 1, GENESIS
    checked = 0
    with Session(engine) as session:
        while True:
            rows = session.exec(
                select(AuditEntry).where(AuditEntry.seq >= expected_seq).order_by(col(AuditEntry.seq)).limit(batch)
            ).all()
            if not rows:
                return VerifyResult(ok=True, checked=checked)
            for entry in rows:
                problem = _check(entry, expected_seq, prev)
                if problem:
                    return VerifyResult(ok=False, checked=checked, broken_seq=entry.seq, reason=problem)
                checked += 1
                expected_seq, prev = entry.seq + 1, entry.hash
            session.expunge_all()


def _check(entry: AuditEntry, expected_seq: int, prev: str) -> str | None:
    if entry.seq != expected_seq:
        return f"entry {expected_seq} is missing (next present is {entry.seq})"
    if entry.prev_hash != prev:
        return "its prev_hash does not match the entry before it"
    digest = entry_hash(
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        subject=entry.subject,
        details=entry.details,
        prev_hash=entry.prev_hash,
    )
    if digest != entry.hash:
        return "its content does not match its hash (edited after it was written)"
    return None
