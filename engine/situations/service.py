"""Raise and resolve situations — for one customer or a fan-out's thousands, one path.

A situation is keyed by customer, subject (`order:<id>`, `incident:<id>`) and kind. Raising one for a
batch of customers opens it (a new matter), reopens it (it came back), or updates it (news, when the
change is material); resolving closes every open situation about the subject. Each change that matters
to the customer plans the thread's next notice (`engine.notices.planner`): a warning is the thread's
`initial` unless one already reached the customer, and the thank-you goes once, to exactly the channels
a warning reached (`engine.notices.threads`).

Deciding and writing are two steps (`prepare_*` → `Changes` → `write_changes`) so that a fan-out can
write one batch in its own transaction while it composes the next; every other caller does both at once
(`raise_situation` and `resolve_subject`: one customer, a batch of one). Each batch is read with one
query per table and written with one statement per table, audit entries in order: per customer their
situation's, then their notices'.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, update

from engine import audit
from engine.audit import Entry
from engine.care import tasks as care_tasks
from engine.db.bulk import JsonText, allocate_ids, insert_rows
from engine.models import Notice, Situation
from engine.models.customers import Recipient
from engine.notices.composer import Subject
from engine.notices.journal import notice_entry
from engine.notices.planner import Planned, Planner, PlanRequest, SituationRow, write_notices
from engine.notices.threads import (
    ThreadNotice,
    load_threads,
    next_warning_stage,
    thanked,
    unsent_warnings,
    warned_channels,
)
from engine.runtime import Runtime
from engine.situations.repository import about_subject
from engine.vocabulary import NoticeStatus, SituationKind, SituationStatus, Stage


@dataclass(frozen=True)
class Matter:
    """What is raised: the kind of situation, its subject, and what it records of it (news is judged
    against the details the customer was told)."""

    kind: SituationKind
    subject_key: str
    subject: Subject
    details: dict[str, Any]


@dataclass(frozen=True)
class Raise:
    """One customer a situation is raised for, and why (the audit log's reason)."""

    customer: Recipient
    reason: str


@dataclass
class Changes:
    """One batch of situation changes and their notices, decided and composed but not yet written."""

    now: datetime
    details: dict[str, Any] | None = None
    opened: list[dict[str, Any]] = field(default_factory=list)  # new situation rows
    reopened: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    dropped: dict[str, list[int]] = field(default_factory=dict)  # reason → notices no longer worth sending
    notices: Planned = field(default_factory=Planned)
    entries: list[Entry] = field(default_factory=list)
    told: int = 0  # customers a notice was planned for


def raise_situation(
    session: Session,
    rt: Runtime,
    matter: Matter,
    *,
    customer: Recipient,
    material: bool,
    reason: str,
    next_update_at: datetime | None = None,
) -> None:
    """One customer's situation (an order's warning): a batch of one, written in the caller's transaction."""
    planner = Planner(rt, now=rt.clock.now())
    items = [Raise(customer, reason)]
    write_changes(
        session, prepare_raise(session, planner, matter, items=items, material=material, next_update_at=next_update_at)
    )


def prepare_raise(
    session: Session,
    planner: Planner,
    matter: Matter,
    *,
    items: Sequence[Raise],
    material: bool,
    drop_deferred: str | None = None,
    next_update_at: datetime | None = None,
    lock: bool = True,
    id_range: bool = False,
) -> Changes:
    """Decide, for each customer, what raising the situation means, and compose the notices it calls for.

    No situation yet → it opens; resolved → it reopens (an `update` if a warning of the earlier spell
    reached them); open → updated when the change is `material`, else left alone (they know already).
    With `drop_deferred`, warnings of the thread still waiting out quiet hours are dropped for that
    reason first: the newer news replaces them, so nobody wakes up to two texts about one thing.
    `lock=False` reads without row locks (a fan-out's writer takes them); `id_range`: the customers are
    a run in id order, read with one index range instead of an IN list.
    """
    now, kind, subject_key, subject = planner.now, matter.kind, matter.subject_key, matter.subject
    changes = Changes(now=now, details=matter.details)
    about = about_subject(session, [i.customer.id for i in items], subject_key, lock=lock, id_range=id_range)
    existing = {s.customer_id: s for s in about if s.kind == kind}
    left_alone = {cid for cid, s in existing.items() if s.status == SituationStatus.OPEN and not material}
    # Every notice in a thread belongs to a situation about its subject (of any kind: an order's exception,
    # then its delay): customers with none have nothing in the thread yet, and cost no read; nor do those
    # whose open situation this leaves alone.
    readers = sorted({s.customer_id for s in about} - left_alone)
    threads = load_threads(session, thread_key=subject_key, customer_ids=readers)
    new_ids = iter(allocate_ids(session, Situation, sum(1 for i in items if i.customer.id not in existing)))
    stored_details = JsonText(json.dumps(matter.details))  # the same for every new row: serialised once
    blocks: list[list[Entry]] = []
    requests: list[PlanRequest] = []
    for item in items:
        found, thread = existing.get(item.customer.id), threads.get(item.customer.id, [])
        if found is None:
            row = SituationRow(next(new_ids), kind, subject_key, subject.order_id, subject.incident_id, now)
            changes.opened.append(_new_situation(row, item.customer.id, stored_details, now=now))
            action = "situation.opened"
        elif found.status == SituationStatus.RESOLVED:
            row, action = SituationRow.of(found), "situation.reopened"
            changes.reopened.append(row.id)
        elif material:
            row, action = SituationRow.of(found), "situation.updated"
            changes.updated.append(row.id)
        else:
            continue  # open already: they know (or will, through another of the incident's components)
        waiting = unsent_warnings(thread, deferred_only=True) if drop_deferred else []
        block = _drop(changes, waiting, reason=drop_deferred or "")
        audited = {"kind": kind, "subject": subject_key, "customer_id": item.customer.id, "reason": item.reason}
        block.append(_entry(now, action, row.id, audited))
        blocks.append(block)
        stage = next_warning_stage(thread)
        requests.append(PlanRequest(item.customer, row, stage, thread, next_update_at=next_update_at))
    _plan(session, planner, changes, blocks, requests, owners=list(range(len(blocks))), subject=subject)
    return changes


def resolve_subject(
    session: Session,
    rt: Runtime,
    *,
    customer: Recipient,
    subject_key: str,
    subject: Subject,
    reason: str,
    follow_up: bool,
) -> None:
    """One customer's matter is over (a parcel delivered, an order canceled): a batch of one."""
    changes = prepare_resolve(
        session,
        Planner(rt, now=rt.clock.now()),
        subject_key=subject_key,
        subject=subject,
        customers=[customer],
        reason=reason,
        follow_up=follow_up,
    )
    write_changes(session, changes)


def prepare_resolve(
    session: Session,
    planner: Planner,
    *,
    subject_key: str,
    subject: Subject,
    customers: Sequence[Recipient],
    reason: str,
    follow_up: bool,
) -> Changes:
    """Resolve every open situation about the subject for each customer; thank exactly those warned, once.

    Unsent warnings are dropped; the `resolved` notice goes only on channels a warning reached.
    """
    now = planner.now
    changes = Changes(now=now)
    open_by_customer: dict[str, list[Situation]] = {}
    found = about_subject(session, [c.id for c in customers], subject_key)
    for situation in sorted(found, key=lambda s: s.updated_at, reverse=True):  # the newest leads the thank-you
        if situation.status == SituationStatus.OPEN:
            open_by_customer.setdefault(situation.customer_id, []).append(situation)
    told = [c for c in customers if c.id in open_by_customer]
    threads = load_threads(session, thread_key=subject_key, customer_ids=[c.id for c in told])
    blocks: list[list[Entry]] = []
    requests: list[PlanRequest] = []
    owners: list[int] = []
    for customer in told:
        situations, thread = open_by_customer[customer.id], threads[customer.id]
        block = [_entry(now, "situation.resolved", s.id or 0, {"kind": s.kind, "reason": reason}) for s in situations]
        changes.resolved.extend(s.id or 0 for s in situations)
        block.extend(_drop(changes, unsent_warnings(thread), reason=f"{reason} before it was sent"))
        blocks.append(block)
        warned = warned_channels(thread)
        if follow_up and warned and not thanked(thread):
            owners.append(len(blocks) - 1)
            requests.append(
                PlanRequest(customer, SituationRow.of(situations[0]), Stage.RESOLVED, thread, only_channels=warned)
            )
    _plan(session, planner, changes, blocks, requests, owners=owners, subject=subject)
    return changes


def write_changes(session: Session, changes: Changes) -> None:
    """Write a prepared batch: situations, dropped and new notices, audit entries; deliveries are queued
    once the transaction commits."""
    now = changes.now
    insert_rows(session, Situation, changes.opened)
    _set(
        session,
        changes.reopened,
        status=SituationStatus.OPEN,
        resolved_at=None,
        details=changes.details,
        updated_at=now,
    )
    _set(session, changes.updated, details=changes.details, updated_at=now)
    # Over: no promise is outstanding (nothing to keep, engine/promises/keep.py).
    _set(
        session,
        changes.resolved,
        status=SituationStatus.RESOLVED,
        resolved_at=now,
        updated_at=now,
        next_update_at=None,
    )
    changes.entries.extend(care_tasks.close_for_situations(session, changes.resolved, now=now))
    for reason, ids in changes.dropped.items():
        session.execute(
            update(Notice).where(col(Notice.id).in_(ids)).values(status=NoticeStatus.DROPPED, status_reason=reason)
        )
    write_notices(session, changes.notices)
    audit.append_many(session, changes.entries)


def _plan(
    session: Session,
    planner: Planner,
    changes: Changes,
    blocks: list[list[Entry]],
    requests: list[PlanRequest],
    *,
    owners: list[int],
    subject: Subject,
) -> None:
    """Compose the requests' notices; every customer's entries in order: theirs, then their notices'."""
    dropping = [notice_id for ids in changes.dropped.values() for notice_id in ids]
    changes.notices = planner.plan(session, requests, subject=subject, not_texted_by=dropping)
    for owner, entries in zip(owners, changes.notices.entries, strict=True):
        blocks[owner].extend(entries)
    changes.entries = [entry for block in blocks for entry in block]
    changes.told = len(requests)


def _drop(changes: Changes, notices: list[ThreadNotice], *, reason: str) -> list[Entry]:
    """Mark these unsent notices dropped (written with the batch); their `notice.dropped` audit entries."""
    reason = reason[:500]
    entries = []
    for notice in notices:
        notice.status = notice.reached = NoticeStatus.DROPPED
        changes.dropped.setdefault(reason, []).append(notice.id)
        entries.append(notice_entry(notice, "notice.dropped", at=changes.now, reason=reason))
    return entries


def _set(session: Session, ids: list[int], **values: Any) -> None:
    if ids:
        session.execute(update(Situation).where(col(Situation.id).in_(ids)).values(**values))


def _entry(now: datetime, action: str, situation_id: int, details: dict[str, Any]) -> Entry:
    return Entry(at=now, actor="system", action=action, subject=f"situation:{situation_id}", details=details)


def _new_situation(row: SituationRow, customer_id: str, details: JsonText, *, now: datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "customer_id": customer_id,
        "kind": row.kind,
        "subject_key": row.subject_key,
        "order_id": row.order_id,
        "incident_id": row.incident_id,
        "status": SituationStatus.OPEN,
        "details": details,
        "opened_at": now,
        "updated_at": now,
        "resolved_at": None,
    }
