"""Reading the audit log: filtered pages, a CSV export of any range in constant memory, and the chain's
state (verified on demand; when it last was, by whom, and the first broken entry)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from engine import audit
from engine.audit.verify import verify_with_checkpoints
from engine.clock import format_instant
from engine.models import AuditEntry
from engine.read.queries import Page, narrow, page_by_key, page_by_time

VERIFIED = "audit.verified"
EXPORTED = "audit.exported"
CSV_COLUMNS = ("seq", "at", "actor", "action", "subject", "details", "prev_hash", "hash")
EXPORT_BATCH = 1000  # rows read per query while streaming: memory stays flat for any range


@dataclass(frozen=True)
class AuditSearch:
    actor: str | None = None
    action: str | None = None
    subject: str | None = None  # "notice:12", "customer:C1", "incident:INC-7"
    customer_id: str | None = None  # the same as subject "customer:<id>" (kept from the first /api/audit)
    since: datetime | None = None
    until: datetime | None = None
    cursor: int | None = None  # entries with a smaller seq than this
    limit: int = 100

    def described(self) -> dict[str, Any]:
        """The filters given, for the audit entry an export leaves."""
        return {k: v for k, v in self.__dict__.items() if v is not None and k not in ("cursor", "limit")}


def _filtered(q: AuditSearch) -> Any:
    a = AuditEntry
    subjects = {q.subject, f"customer:{q.customer_id}" if q.customer_id else None} - {None}
    statement = narrow(
        select(a), [(a.actor, q.actor), (a.action, q.action)], since=(a.at, q.since), until=(a.at, q.until)
    )
    for subject in subjects:  # two different subjects match nothing, as two filters should
        statement = statement.where(col(a.subject) == subject)
    return statement


def search_audit(session: Session, q: AuditSearch) -> Page:
    """Newest first; a window with an end is read in time order (see `page_by_time`)."""
    statement = _filtered(q)
    if q.until is not None:
        return page_by_time(session, statement, AuditEntry.at, AuditEntry.seq, cursor=q.cursor, limit=q.limit)
    return page_by_key(session, statement, AuditEntry.seq, cursor=q.cursor, limit=q.limit)


def csv_lines(session: Session, q: AuditSearch) -> Iterator[str]:
    """The matching entries as CSV, oldest first, a batch of rows at a time (never the whole range)."""
    yield _csv_row(CSV_COLUMNS)
    after = 0
    while True:
        batch = session.exec(
            _filtered(q).where(col(AuditEntry.seq) > after).order_by(col(AuditEntry.seq)).limit(EXPORT_BATCH)
        ).all()
        for entry in batch:
            yield _csv_row(
                (
                    str(entry.seq),
                    format_instant(entry.at),
                    entry.actor,
                    entry.action,
                    entry.subject,
                    json.dumps(entry.details, sort_keys=True, ensure_ascii=False),
                    entry.prev_hash,
                    entry.hash,
                )
            )
        if len(batch) < EXPORT_BATCH:
            return
        after = batch[-1].seq
        session.expunge_all()  # the identity map would otherwise keep every row streamed


def _csv_row(cells: tuple[str, ...]) -> str:
    out = io.StringIO()
    # A cell starting with = + - @ is a formula to a spreadsheet: quoted, it stays the text it was.
    csv.writer(out).writerow(["'" + c if c[:1] in ("=", "+", "-", "@") else c for c in cells])
    return out.getvalue()


def record_export(session: Session, q: AuditSearch, *, actor: str, at: datetime, address: str | None) -> None:
    """Exporting is a staff action like any other: who, when, from where, and what they took."""
    details = {"filters": q.described(), "address": address}
    audit.append(session, at=at, actor=actor, action=EXPORTED, subject="audit:export", details=details)


@dataclass(frozen=True)
class ChainState:
    entries: int
    head_seq: int | None
    last_verified_at: datetime | None
    last_verified_by: str | None
    ok: bool | None  # None: never verified
    checked: int | None
    broken_seq: int | None
    reason: str | None


def chain_state(session: Session) -> ChainState:
    """How long the chain is and what its last verification found (recorded as `audit.verified`)."""
    count, head = session.exec(select(func.count(), func.max(col(AuditEntry.seq)))).one()
    last = session.exec(
        select(AuditEntry).where(AuditEntry.action == VERIFIED).order_by(col(AuditEntry.seq).desc()).limit(1)
    ).first()
    if last is None:
        return ChainState(int(count), head, None, None, None, None, None, None)
    found = last.details
    return ChainState(
        int(count),
        head,
        last.at,
        last.actor,
        bool(found.get("ok")),
        found.get("checked"),
        found.get("broken_seq"),
        found.get("reason"),
    )


def verify_now(
    session: Session, db: Engine, *, actor: str, at: datetime, checkpoint_file: Path | None = None
) -> ChainState:
    """Walk the whole chain (its own reads, in batches), against the heads checkpointed in `checkpoint_file`,
    and record what was found in the caller's transaction."""
    result = verify_with_checkpoints(db, checkpoint_file) if checkpoint_file else audit.verify_chain(db)
    details = {"ok": result.ok, "checked": result.checked, "broken_seq": result.broken_seq, "reason": result.reason}
    audit.append(session, at=at, actor=actor, action=VERIFIED, subject="audit:chain", details=details)
    session.flush()
    return chain_state(session)


def describe_chain(state: ChainState) -> dict[str, Any]:
    return {
        "entries": state.entries,
        "head_seq": state.head_seq,
        "verified": state.ok,
        "last_verified_at": format_instant(state.last_verified_at) if state.last_verified_at else None,
        "last_verified_by": state.last_verified_by,
        "checked": state.checked,
        "first_broken_seq": state.broken_seq,
        "reason": state.reason,
    }
