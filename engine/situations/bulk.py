"""Raise, update and resolve one subject's situations for many customers at once (outage fan-outs).

Each function is the batch twin of `engine.situations.service` — `raise_situation` and
`resolve_subject` applied customer after customer — with the same audit entries in the same order
per customer, the same stage decisions and the same notices (tests compare the two). Rows are read
with one query per table and written with one statement per table; the caller runs each batch in its
own transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select, update

from engine import audit
from engine.audit import Entry
from engine.bulkdb import JsonText, allocate_ids, insert_rows
from engine.db import row_locks
from engine.models import NoticeStatus, Situation, SituationStatus
from engine.notices.bulk import (
    WARNING_STAGES,
    BulkPlanner,
    Planned,
    PlanRequest,
    SituationRow,
    ThreadNotice,
    dropped,
    load_threads,
    mark_dropped,
    told_in,
    write_notices,
)
from engine.notices.planner import Subject
from engine.notices.repository import LIVE
from engine.state.subscriptions import Subscriber


@dataclass(frozen=True)
class Update:
    """One open situation that has news for its customer."""

    situation: Situation
    customer: Subscriber
    reason: str


def _situations_of(
    session: Session, customer_ids: list[str], *, subject_key: str, lock: bool = True, id_range: bool = False
) -> list[Situation]:
    """The customers' situations about the subject, locked on PostgreSQL (unless `lock` is false).

    Found by customer id alone, the subject checked here (see UNSELECTIVE in engine/notices/bulk.py),
    then only the matching rows are locked, by primary key.
    """
    if not customer_ids:
        return []
    wanted = set(customer_ids)
    # A fan-out's batch is a run of subscribers in id order: one index range read costs less than an IN
    # list's thousand probes (`id_range`). Customers in any other order are looked up one by one.
    where = (
        (col(Situation.customer_id) >= min(wanted)) & (col(Situation.customer_id) <= max(wanted))
        if id_range
        else col(Situation.customer_id).in_(customer_ids)
    )
    candidates = session.execute(select(Situation.id, Situation.customer_id, Situation.subject_key).where(where)).all()
    ids = [situation_id for situation_id, customer, key in candidates if key == subject_key and customer in wanted]
    if not ids:
        return []
    statement = select(Situation).where(col(Situation.id).in_(ids)).order_by(col(Situation.id))
    if lock and row_locks(session):
        statement = statement.with_for_update()
    return [s for s in session.exec(statement).all() if s.subject_key == subject_key]


def _row(situation: Situation) -> SituationRow:
    assert situation.id is not None
    return SituationRow(
        situation.id,
        situation.kind,
        situation.subject_key,
        situation.order_id,
        situation.incident_id,
        situation.opened_at,
    )


def _opened(now: datetime, action: str, situation_id: int, details: dict[str, Any]) -> Entry:
    return Entry(at=now, actor="system", action=action, subject=f"situation:{situation_id}", details=details)


def _finish(
    session: Session,
    planner: BulkPlanner,
    *,
    blocks: list[list[Entry]],
    requests: list[PlanRequest],
    owners: list[int],
    subject: Subject,
) -> None:
    """Plan the requests and write them; every customer's entries in order: theirs, then their notices'."""
    planned = planner.plan(session, requests, subject=subject)
    for owner, entries in zip(owners, planned.entries, strict=True):
        blocks[owner].extend(entries)
    write_notices(session, planned)
    audit.append_many(session, [entry for block in blocks for entry in block])


@dataclass
class Opening:
    """One batch of `open_many`, decided and composed but not yet written (see `write_opening`)."""

    now: datetime
    details: dict[str, Any]
    situations: list[dict[str, Any]]  # new rows
    reopened: list[int]  # ids of resolved situations to reopen
    notices: Planned
    entries: list[Entry]  # in order: each customer's situation entry, then their notices'
    told: int


def open_many(
    session: Session,
    planner: BulkPlanner,
    *,
    customers: Sequence[Subscriber],
    kind: str,
    subject_key: str,
    subject: Subject,
    details: dict[str, Any],
    reason: str,
) -> int:
    """Tell each customer who is not already in an open thread about the subject; returns how many were.

    A new situation opens (`initial`); a resolved one reopens, and is an `update` if a warning of the
    earlier spell went out. Customers with the situation open already are left alone.
    """
    opening = prepare_opening(
        session,
        planner,
        customers=customers,
        kind=kind,
        subject_key=subject_key,
        subject=subject,
        details=details,
        reason=reason,
    )
    write_opening(session, opening)
    return opening.told


def prepare_opening(
    session: Session,
    planner: BulkPlanner,
    *,
    customers: Sequence[Subscriber],
    kind: str,
    subject_key: str,
    subject: Subject,
    details: dict[str, Any],
    reason: str,
    lock: bool = True,
) -> Opening:
    """Everything `open_many` decides, read in `session` and written by `write_opening`, maybe in another
    transaction (a fan-out writes one batch while it composes the next; the writer re-checks the component
    and the unique constraint catches a thread opened meanwhile)."""
    now = planner.now
    existing = {
        s.customer_id: s
        for s in _situations_of(session, [c.id for c in customers], subject_key=subject_key, lock=lock, id_range=True)
        if s.kind == kind
    }
    stored_details = JsonText(json.dumps(details))  # the same for every row: serialised once
    new_ids = iter(allocate_ids(session, Situation, sum(1 for c in customers if c.id not in existing)))
    reopened = [s for s in existing.values() if s.status == SituationStatus.RESOLVED]
    threads = load_threads(session, thread_key=subject_key, customer_ids=[s.customer_id for s in reopened])
    rows: list[dict[str, Any]] = []
    blocks: list[list[Entry]] = []
    requests: list[PlanRequest] = []
    for customer in customers:
        found = existing.get(customer.id)
        audited = {"kind": kind, "subject": subject_key, "customer_id": customer.id, "reason": reason}
        thread: list[ThreadNotice] = []
        if found is None:
            situation = SituationRow(
                next(new_ids),
                kind,
                subject_key,
                subject.order.id if subject.order else None,
                subject.incident.id if subject.incident else None,
                now,
            )
            rows.append(
                {
                    "id": situation.id,
                    "customer_id": customer.id,
                    "kind": kind,
                    "subject_key": subject_key,
                    "order_id": situation.order_id,
                    "incident_id": situation.incident_id,
                    "status": SituationStatus.OPEN,
                    "details": stored_details,
                    "opened_at": now,
                    "updated_at": now,
                    "resolved_at": None,
                }
            )
            blocks.append([_opened(now, "situation.opened", situation.id, audited)])
        elif found.status == SituationStatus.RESOLVED:
            situation = _row(found)
            thread = threads[customer.id]
            blocks.append([_opened(now, "situation.reopened", situation.id, audited)])
        else:
            continue  # already told about this subject (e.g. through another of the incident's components)
        requests.append(PlanRequest(customer, situation, "update" if told_in(thread) else "initial", thread))
    planned = planner.plan(session, requests, subject=subject)
    for block, entries in zip(blocks, planned.entries, strict=True):
        block.extend(entries)
    return Opening(
        now=now,
        details=details,
        situations=rows,
        reopened=[s.id for s in reopened if s.id is not None],
        notices=planned,
        entries=[entry for block in blocks for entry in block],
        told=len(requests),
    )


def write_opening(session: Session, opening: Opening) -> None:
    """Write a prepared batch: situations, notices, audit entries; its deliveries are queued on commit."""
    insert_rows(session, Situation, opening.situations)
    if opening.reopened:
        session.execute(
            update(Situation)
            .where(col(Situation.id).in_(opening.reopened))
            .values(status=SituationStatus.OPEN, resolved_at=None, details=opening.details, updated_at=opening.now)
        )
    write_notices(session, opening.notices)
    audit.append_many(session, opening.entries)


def update_many(
    session: Session,
    planner: BulkPlanner,
    *,
    updates: Sequence[Update],
    subject_key: str,
    subject: Subject,
    details: dict[str, Any],
    drop_deferred: str | None = None,
) -> int:
    """A material update of each open situation: its news is told as the thread's next warning.

    With `drop_deferred`, warnings still waiting out quiet hours are dropped first for that reason, so
    nobody wakes up to two texts about one thing.
    """
    now = planner.now
    threads = load_threads(session, thread_key=subject_key, customer_ids=[u.customer.id for u in updates])
    blocks: list[list[Entry]] = []
    requests: list[PlanRequest] = []
    stale: list[ThreadNotice] = []
    for item in updates:
        thread = threads[item.customer.id]
        block: list[Entry] = []
        if drop_deferred:
            waiting = [
                n for n in thread if n.stage in WARNING_STAGES and n.status == NoticeStatus.PENDING and n.deferred
            ]
            block.extend(dropped(waiting, at=now, reason=drop_deferred))
            stale.extend(waiting)
        situation = _row(item.situation)
        audited = {
            "kind": situation.kind,
            "subject": subject_key,
            "customer_id": item.customer.id,
            "reason": item.reason,
        }
        block.append(_opened(now, "situation.updated", situation.id, audited))
        blocks.append(block)
        requests.append(PlanRequest(item.customer, situation, "update" if told_in(thread) else "initial", thread))
    mark_dropped(session, stale, reason=drop_deferred or "")
    if updates:
        session.execute(
            update(Situation)
            .where(col(Situation.id).in_([u.situation.id for u in updates]))
            .values(details=details, updated_at=now)
        )
    _finish(session, planner, blocks=blocks, requests=requests, owners=list(range(len(blocks))), subject=subject)
    return len(requests)


def resolve_many(
    session: Session,
    planner: BulkPlanner,
    *,
    customers: Sequence[Subscriber],
    subject_key: str,
    subject: Subject,
    reason: str,
    follow_up: bool,
) -> int:
    """Resolve every open situation about the subject for each customer; thank exactly those warned, once.

    Unsent warnings are dropped; the `resolved` notice goes only on channels where a warning was sent.
    Returns how many customers get one.
    """
    now = planner.now
    open_by_customer: dict[str, list[Situation]] = {}
    found = _situations_of(session, [c.id for c in customers], subject_key=subject_key)
    for situation in sorted(found, key=lambda s: s.updated_at, reverse=True):  # newest first, as resolve_subject
        if situation.status == SituationStatus.OPEN:
            open_by_customer.setdefault(situation.customer_id, []).append(situation)
    told = [c for c in customers if c.id in open_by_customer]
    threads = load_threads(session, thread_key=subject_key, customer_ids=[c.id for c in told])
    blocks: list[list[Entry]] = []
    requests: list[PlanRequest] = []
    owners: list[int] = []
    unsent: list[ThreadNotice] = []
    why = f"{reason} before it was sent"
    for customer in told:
        situations = open_by_customer[customer.id]
        block = [_opened(now, "situation.resolved", _row(s).id, {"kind": s.kind, "reason": reason}) for s in situations]
        thread = threads[customer.id]
        waiting = [n for n in thread if n.stage in WARNING_STAGES and n.status == NoticeStatus.PENDING]
        block.extend(dropped(waiting, at=now, reason=why))
        unsent.extend(waiting)
        blocks.append(block)
        warned = {
            n.channel
            for n in thread
            if n.stage in WARNING_STAGES and n.status in (NoticeStatus.SENT, NoticeStatus.SENDING)
        }
        already = any(n.stage == "resolved" and n.status in LIVE for n in thread)
        if follow_up and warned and not already:
            owners.append(len(blocks) - 1)
            requests.append(
                PlanRequest(customer, _row(situations[0]), "resolved", thread, only_channels=frozenset(warned))
            )
    mark_dropped(session, unsent, reason=why)
    ids = [s.id for situations in open_by_customer.values() for s in situations]
    if ids:
        session.execute(
            update(Situation)
            .where(col(Situation.id).in_(ids))
            .values(status=SituationStatus.RESOLVED, resolved_at=now, updated_at=now)
        )
    _finish(session, planner, blocks=blocks, requests=requests, owners=owners, subject=subject)
    return len(requests)
