"""Append entries to the audit chain inside the caller's transaction.

Each entry's `hash` is HMAC-SHA256, under the key outside the database (`engine.audit.keys`), of the
canonical JSON of its seq, time, actor, action, subject, details and the previous entry's hash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, event, insert
from sqlmodel import Session, col, select

from engine.audit import personal as personal_data
from engine.audit.canonical import canonical_json, entry_text, jsonable
from engine.audit.keys import Signer, signer_for
from engine.audit.personal import Personal
from engine.db import transaction_lock
from engine.db.bulk import JsonText, insert_rows
from engine.models import AuditEntry, AuditPersonal

GENESIS = "0" * 64
_HEAD = "forewarn.audit_head"
_SOLE_WRITER = "forewarn.audit_sole_writer"
# Any constant works; it names the PostgreSQL advisory lock that serialises chain appends.
_ADVISORY_LOCK_KEY = 7_114_221_001


def entry_hash(signer: Signer, fields: Mapping[str, Any]) -> str:
    """The hash of an entry with these `fields` (`AuditEntry.chained`: seq, at, …, details, prev_hash)."""
    return signer.sign(entry_text(**{**fields, "details": canonical_json(fields["details"])}))


def append(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
    personal: Personal | None = None,
) -> None:
    """Add one entry after the current head; it commits (or not) with the caller's transaction.

    `personal`: what the entry says that is the customer's own; chained as a digest, kept apart (erasable)."""
    append_many(session, [Entry(at, actor, action, subject, details or {}, personal)])


def record(
    session: Session, actor: str, action: str, subject: str, *, at: datetime, address: str | None, **details: Any
) -> None:
    """A person's action (a staff member's, or the CLI's): who did what to which subject, from which address."""
    append(session, at=at, actor=actor, action=action, subject=subject, details={**details, "address": address})


class Entry(NamedTuple):
    """One audit entry to append; `append_many` chains a list of them (a fan-out makes 200,000)."""

    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    personal: Personal | None = None


def append_many(session: Session, entries: Sequence[Entry]) -> int:
    """Append `entries` in order with one multi-row INSERT; returns the last seq.

    A fan-out writes one entry per notice and per situation: signing them in a loop and inserting them
    together costs a fraction of an ORM object and a flush each. Each entry's details are serialised
    once, canonically, and that text is both what is signed and what is stored.
    """
    seq, prev = _head(session)
    if not entries:
        return seq
    signer = signer_for(session)
    rows: list[dict[str, Any]] = []
    cleans: list[dict[str, Any]] = []
    apart: list[dict[str, Any]] = []
    for item in entries:
        seq += 1
        clean = jsonable(item.details)
        if item.personal is not None:
            reference, kept = personal_data.seal(item.personal)
            clean = {**clean, personal_data.KEY: reference}
            apart.append({"seq": seq, **kept})
        row = {**item._asdict(), "seq": seq, "details": JsonText(canonical_json(clean)), "prev_hash": prev}
        del row["personal"]
        row["hash"] = prev = signer.sign(entry_text(**row))
        rows.append(row)
        cleans.append(clean)
    if len(rows) < _COPY_FROM:
        # A Core insert (one statement, pipelined): the entries are never read back through the ORM, and
        # a COPY costs a round trip more than it saves for a webhook group's few entries.
        session.connection().execute(_INSERT, [{**row, "details": c} for row, c in zip(rows, cleans, strict=True)])
    else:
        insert_rows(session, AuditEntry, rows)
    if apart:
        session.connection().execute(insert(AuditPersonal), apart)
    session.info[_HEAD] = (seq, prev)
    return seq


_INSERT = insert(AuditEntry)
_COPY_FROM = 64  # entries from which one COPY beats an INSERT (a fan-out's batch, not a webhook group)


def _head(session: Session) -> tuple[int, str]:
    cached: tuple[int, str] | None = session.info.get(_HEAD)
    if cached is not None:
        return cached
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return _locked_head_pg(connection)
    # Held until this transaction ends: concurrent workers append one after another.
    transaction_lock(session, _ADVISORY_LOCK_KEY)
    # On the connection, built once: the ORM's execution path around this one-row read cost about as much
    # CPU as the read itself, once per webhook group.
    row = connection.execute(_HEAD_QUERY).first()
    return (row[0], row[1]) if row else (0, GENESIS)


_HEAD_QUERY = select(AuditEntry.seq, AuditEntry.hash).order_by(col(AuditEntry.seq).desc()).limit(1)

# The chain lock and the head read in one round trip (a webhook group paid one each): two statements in one
# simple-protocol query. Each statement of it takes its own snapshot under READ COMMITTED, so the head is
# read after the lock is granted and sees every append committed before it, as with two round trips.
_LOCKED_HEAD_PG = (
    "SELECT pg_advisory_xact_lock(7114221001); SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1"
)
assert str(_ADVISORY_LOCK_KEY) in _LOCKED_HEAD_PG and AuditEntry.__tablename__ in _LOCKED_HEAD_PG


def _locked_head_pg(connection: Connection) -> tuple[int, str]:
    # Through SQLAlchemy, so that a lost connection is the usual OperationalError (an outage: 503) and the
    # pool learns of it; no parameters, so psycopg sends the text as one simple query.
    result = connection.exec_driver_sql(_LOCKED_HEAD_PG, execution_options={"no_parameters": True})
    try:
        cursor: Any = result.cursor
        cursor.nextset()  # past the lock's result to the head's
        row = cursor.fetchone()
    finally:
        result.close()
    return (row[0], row[1]) if row else (0, GENESIS)


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
