"""Append entries to the audit chain inside the caller's transaction."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, text
from sqlmodel import Session, col, select

from engine.clock import format_instant
from engine.models import AuditEntry

GENESIS = "0" * 64
_HEAD = "forewarn.audit_head"
_SOLE_WRITER = "forewarn.audit_sole_writer"
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
) -> None:
    """Add one entry after the current head; it commits (or not) with the caller's transaction."""
    clean = _jsonable(details or {})
    seq, prev = _head(session)
    digest = entry_hash(seq=seq + 1, at=at, actor=actor, action=action, subject=subject, details=clean, prev_hash=prev)
    # A Core insert: the entry is never read back through the ORM, and skipping the unit of work makes
    # the log cheap enough to write for every event, decision and notice.
    session.connection().execute(
        _INSERT,
        {
            "seq": seq + 1,
            "at": at,
            "actor": actor,
            "action": action,
            "subject": subject,
            "details": clean,
            "prev_hash": prev,
            "hash": digest,
        },
    )
    session.info[_HEAD] = (seq + 1, digest)


_INSERT = insert(AuditEntry)


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


def sole_writer(session: Session) -> None:
    """Declare this session the only one that ever appends (replay's private database): the head it
    wrote stays valid after commit, which saves reading it back at the start of every transaction."""
    session.info[_SOLE_WRITER] = True


def _forget_head_after_commit(session: Session, *_: Any) -> None:
    if not session.info.get(_SOLE_WRITER):
        session.info.pop(_HEAD, None)


def _forget_head(session: Session, *_: Any) -> None:
    session.info.pop(_HEAD, None)


# The cached head is only valid inside the transaction that read it: another writer may append next.
event.listen(Session, "after_commit", _forget_head_after_commit)
event.listen(Session, "after_rollback", _forget_head)
