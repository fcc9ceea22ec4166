"""Append entries to the audit chain inside the caller's transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from sqlalchemy import event, insert
from sqlmodel import Session, col, select

from engine.clock import format_instant
from engine.db import transaction_lock
from engine.db.bulk import JsonText, insert_rows
from engine.models import AuditEntry
from engine.vocabulary import WORDS

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


class Entry(NamedTuple):
    """One audit entry to append; `append_many` chains a list of them (a fan-out makes 200,000)."""

    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]


def append_many(session: Session, entries: Sequence[Entry]) -> int:
    """Append `entries` in order with one multi-row INSERT; the same chain `append` would build one by one.

    A fan-out writes one entry per notice and per situation: hashing them in a loop and inserting them
    together costs a fraction of an ORM object and a flush each. Each entry's details are serialised
    once, canonically, and that text is both what is hashed and what is stored. Returns the last seq.
    """
    seq, prev = _head(session)
    if not entries:
        return seq
    rows: list[dict[str, Any]] = []
    for item in entries:
        seq += 1
        details = JsonText(_canonical_json(_jsonable(item.details)))
        digest = hashlib.sha256(
            _canonical(
                seq=seq,
                at=item.at,
                actor=item.actor,
                action=item.action,
                subject=item.subject,
                details=details,
                prev=prev,
            ).encode("utf-8")
        ).hexdigest()
        rows.append(
            {
                "seq": seq,
                "at": item.at,
                "actor": item.actor,
                "action": item.action,
                "subject": item.subject,
                "details": details,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    insert_rows(session, AuditEntry, rows)
    session.info[_HEAD] = (seq, prev)
    return seq


# entry_hash's json.dumps settings, built once: a fan-out serialises hundreds of thousands of entries.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_canonical_json = _CANONICAL.encode
_string = encode_basestring  # what the encoder above writes for a str


def _canonical(*, seq: int, at: datetime, actor: str, action: str, subject: str, details: str, prev: str) -> str:
    """`entry_hash`'s canonical text (keys sorted, compact), assembled around details serialised the same way."""
    return (
        f'{{"action":{_string(action)},"actor":{_string(actor)},"at":{_string(_instant(at))},'
        f'"details":{details},"prev":{_string(prev)},"seq":{int(seq)},"subject":{_string(subject)}}}'
    )


def _head(session: Session) -> tuple[int, str]:
    cached: tuple[int, str] | None = session.info.get(_HEAD)
    if cached is not None:
        return cached
    # Held until this transaction ends: concurrent workers append one after another.
    transaction_lock(session, _ADVISORY_LOCK_KEY)
    row = session.exec(select(AuditEntry.seq, AuditEntry.hash).order_by(col(AuditEntry.seq).desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, GENESIS)


# A fan-out's entries share a handful of instants (its `now`, a morning for deferred texts): format each once.
_instant = lru_cache(maxsize=1024)(format_instant)


# Values JSON holds as they are (the domain's words are strings: `Channel.SMS` is stored as "sms").
_PLAIN = frozenset({str, int, bool, type(None), *WORDS})


def _jsonable(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict and all(type(k) is str and type(v) in _PLAIN for k, v in value.items()):
        return value  # already what JSON holds: no copy
    if isinstance(value, datetime):
        return _instant(value)
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


def forget_cached_head(session: Session) -> None:
    """After rolling back to a savepoint: the entries written since are gone, so read the head again."""
    session.info.pop(_HEAD, None)


# The cached head is only valid inside the transaction that read it: another writer may append next.
event.listen(Session, "after_commit", _forget_head_after_commit)
event.listen(Session, "after_rollback", _forget_head)
