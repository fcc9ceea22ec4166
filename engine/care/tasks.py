"""Care tasks: a person follows up. Opened by the engine when a parcel is stalled, lost or damaged, or a
customer has their third problem within 30 days; closed when the situation resolves, except a damaged
parcel's, which a person closes (`close_by_staff`, `POST /api/tasks/{id}/close`). Listed at
`GET /api/tasks`, and sent to a helpdesk when `FOREWARN_TASK_WEBHOOK_URL` is set (`engine.care.webhook`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from engine import audit
from engine.audit import Entry
from engine.care import webhook
from engine.clock import format_instant
from engine.db.bulk import insert_rows
from engine.models import CareTask, Shipment
from engine.read.queries import page_by_key
from engine.vocabulary import CareTaskStatus, SituationKind

OPEN, CLOSED = CareTaskStatus.OPEN, CareTaskStatus.CLOSED
# Exceptions a person must handle (a claim with the carrier, a replacement): the engine alone cannot.
HANDS_ON_EXCEPTIONS = frozenset({"lost", "damaged"})
# Tasks the situation's end does not settle: a damaged parcel that arrives still owes the customer the
# replacement or refund they were promised (and were told, on arrival, is still coming). A lost parcel that
# turns up settles its own task: the customer has their order, and the helpdesk hears that it closed.
PERSON_CLOSES = frozenset({"damaged"})


class TaskNotFound(LookupError):
    pass


class TaskAlreadyClosed(Exception):
    pass


def reason_for(kind: SituationKind, shipment: Shipment | None, *, nth_in_30d: int, task_from: int) -> str | None:
    """Why this warning needs a person, or None."""
    if kind == SituationKind.SHIPMENT_STALLED:
        return "stalled"
    if kind == SituationKind.SHIPMENT_EXCEPTION and shipment is not None and shipment.exception in HANDS_ON_EXCEPTIONS:
        return str(shipment.exception)
    if task_from and nth_in_30d >= task_from:
        return "repeat"
    return None


def open_for(session: Session, situation_ids: Collection[int]) -> dict[int, CareTask]:
    if not situation_ids:
        return {}
    rows = session.exec(
        select(CareTask).where(col(CareTask.situation_id).in_(list(situation_ids))).where(CareTask.status == OPEN)
    ).all()
    return {row.situation_id: row for row in rows}


def as_context(task: CareTask | dict[str, Any]) -> dict[str, Any]:
    get = task.get if isinstance(task, dict) else lambda name: getattr(task, name)
    return {"id": get("id"), "reason": get("reason"), "opened_at": get("opened_at")}


def write_opened(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the tasks a batch opens; the helpdesk hears of each once the transaction commits."""
    insert_rows(session, CareTask, rows)
    webhook.queue(session, [row["id"] for row in rows], "opened")


def opened_entry(row: dict[str, Any], *, now: datetime) -> Entry:
    return Entry(
        at=now,
        actor="system",
        action="care_task.opened",
        subject=f"care_task:{row['id']}",
        details={"situation": row["situation_id"], "customer_id": row["customer_id"], "reason": row["reason"]},
    )


def close_for_situations(session: Session, situation_ids: Sequence[int], *, now: datetime) -> list[Entry]:
    """Close the open tasks of situations that resolved (but those a person closes); their audit entries."""
    if not situation_ids:
        return []
    tasks = {k: t for k, t in open_for(session, situation_ids).items() if t.reason not in PERSON_CLOSES}
    if not tasks:
        return []
    ids = [task.id for task in tasks.values() if task.id is not None]
    session.execute(update(CareTask).where(col(CareTask.id).in_(ids)).values(status=CLOSED, closed_at=now))
    webhook.queue(session, ids, "closed")
    return [
        Entry(
            at=now,
            actor="system",
            action="care_task.closed",
            subject=f"care_task:{task.id}",
            details={"situation": task.situation_id, "customer_id": task.customer_id, "reason": "situation resolved"},
        )
        for task in tasks.values()
    ]


def close_by_staff(session: Session, task_id: int, *, actor: str, at: datetime, note: str | None) -> CareTask:
    """A person says the follow-up is done: closed, audited, and the helpdesk told."""
    task = session.get(CareTask, task_id)
    if task is None:
        raise TaskNotFound(f"no care task {task_id}")
    # Conditional, so that two people (or a person and the situation's end) close it once.
    closed = session.execute(
        update(CareTask)
        .where(col(CareTask.id) == task_id, col(CareTask.status) == OPEN)
        .values(status=CLOSED, closed_at=at)
    )
    if closed.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's CursorResult
        raise TaskAlreadyClosed(f"care task {task_id} is closed already")
    session.refresh(task)
    details = {"situation": task.situation_id, "customer_id": task.customer_id, "reason": "closed by staff"}
    audit.append(
        session,
        at=at,
        actor=actor,
        action="care_task.closed",
        subject=f"care_task:{task_id}",
        details={**details, "note": note} if note else details,
    )
    webhook.queue(session, [task_id], "closed")
    return task


def listing(
    session: Session, *, status: CareTaskStatus | None, cursor: int | None, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest task first, a keyset page at a time."""
    query = select(CareTask)
    if status:
        query = query.where(CareTask.status == status)
    page = page_by_key(session, query, CareTask.id, cursor=cursor, limit=limit, item=item)
    return page.items, page.next_cursor


def item(task: CareTask) -> dict[str, Any]:
    """A task as /api/tasks and the helpdesk webhook give it."""
    return {
        "id": task.id,
        "customer_id": task.customer_id,
        "situation_id": task.situation_id,
        "subject_key": task.subject_key,
        "order_id": task.order_id,
        "reason": task.reason,
        "status": task.status,
        "opened_at": format_instant(task.opened_at),
        "closed_at": format_instant(task.closed_at) if task.closed_at else None,
    }
