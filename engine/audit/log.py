"""Append entries to the audit chain inside the caller's transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, text
from sqlmodel import Session, col, select

from engine.bulkdb import insert_rows
from engine.clock import format_instant
from engine.models import AuditEntry

GENESIS = "0" * 64
_HEAD = "forewarn.audit_head"
# Any constant works; it names the PostgreSQL advisory lock that serialises chain appends.
_ADVISORY_LOCK_KEY = 7_114_221_001


def entry_hash(
    *, seq: int, at: datetime, actor: str, action: str, subject: str, details: dict[str, Any], prev_hash: str
) -> str:
    canonical = json.dumps(
        {
            "seq": seq,
            "at": format_instant(at),
            "actor": actor,
            "action": action,
            "subject": subject,
            "details": details,
            "prev": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry after the current head; it commits (or not) with the caller's transaction."""
    clean = _jsonable(details or {})
    seq, prev = _head(session)
    digest = entry_hash(seq=seq + 1, at=at, actor=actor, action=action, subject=subject, details=clean, prev_hash=prev)
    entry = AuditEntry(
        seq=seq + 1,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        details=clean,
        prev_hash=prev,
        hash=digest,
    )
    session.add(entry)
    session.info[_HEAD] = (seq + 1, digest)
    return entry


@dataclass(frozen=True)
class Entry:
    """One audit entry to append; `append_many` chains a list of them."""

    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any] = field(default_factory=dict)


def append_many(session: Session, entries: Sequence[Entry]) -> int:
    """Append `entries` in order with one multi-row INSERT; the same chain `append` would build one by one.

    A fan-out writes one entry per notice and per situation: hashing them in a loop and inserting them
    together costs a fraction of an ORM object and a flush each. Returns the seq of the last entry.
    """
    seq, prev = _head(session)
    if not entries:
        return seq
    rows: list[dict[str, Any]] = []
    for item in entries:
        seq += 1
        clean = _jsonable(item.details)
        digest = entry_hash(
            seq=seq,
            at=item.at,
            actor=item.actor,
            action=item.action,
            subject=item.subject,
            details=clean,
            prev_hash=prev,
        )
        rows.append(
            {
                "seq": seq,
                "at": item.at,
                "actor": item.actor,
                "action": item.action,
                "subject": item.subject,
                "details": clean,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    insert_rows(session, AuditEntry, rows)
    session.info[_HEAD] = (seq, prev)
    return seq


def _head(session: Session) -> tuple[int, str]:
    cached: tuple[int, str] | None = session.info.get(_HEAD)
    if cached is not None:
        return cached
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # Held until this transaction ends: concurrent workers append one after another.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
    row = session.exec(select(AuditEntry.seq, AuditEntry.hash).order_by(col(AuditEntry.seq).desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, GENESIS)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _forget_head(session: Session, *_: Any) -> None:
    session.info.pop(_HEAD, None)


# The cached head is only valid inside the transaction that read it.
event.listen(Session, "after_commit", _forget_head)
event.listen(Session, "after_rollback", _forget_head)
