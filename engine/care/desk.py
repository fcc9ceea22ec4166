"""The planner's care step for one batch: each request's history, repeat, remedy and care task.

Only order matters are remembered (an outage is not a customer's problem with us); a batch of outage
threads costs nothing here. Reads are one query per table for the whole batch; new tasks are rows the
planner writes with its notices (after the situations they refer to).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from engine.audit import Entry
from engine.care import remedies, tasks
from engine.care.history import History, histories
from engine.db.bulk import allocate_ids
from engine.models import CareTask, Shipment
from engine.vocabulary import WARNING_STAGES, Stage

if TYPE_CHECKING:
    from engine.config import Settings
    from engine.notices.planner import PlanRequest


@dataclass(frozen=True)
class Care:
    """What a notice's context gets of the customer's care."""

    history: dict[str, Any]
    repeat: bool
    remedy: dict[str, Any] | None = None
    care_task: dict[str, Any] | None = None


@dataclass
class Prepared:
    care: dict[int, Care] = field(default_factory=dict)  # situation id → care
    tasks: list[dict[str, Any]] = field(default_factory=list)  # new care_tasks rows
    entries: dict[int, list[Entry]] = field(default_factory=dict)  # situation id → audit entries


def prepare(
    session: Session,
    requests: Sequence[PlanRequest],
    *,
    settings: Settings,
    shipment: Shipment | None,
    now: datetime,
) -> Prepared:
    prepared = Prepared()
    mine = [r for r in requests if r.situation.order_id is not None]
    if not mine:
        return prepared
    found = histories(session, {(r.customer.id, r.situation.subject_key) for r in mine}, now=now)
    ids = [r.situation.id for r in mine]
    open_tasks = tasks.open_for(session, ids)
    claimed = remedies.claimed_for(session, ids)
    new_tasks: list[tuple[PlanRequest, str]] = []
    for request in mine:
        situation = request.situation
        history = found.get((request.customer.id, situation.subject_key), History())
        remedy = claimed.get(situation.id)
        warning = request.stage in WARNING_STAGES
        if remedy is None and warning and settings.remedy_from and history.nth_in_30d >= settings.remedy_from:
            remedy = remedies.claim(session, customer_id=request.customer.id, situation_id=situation.id, now=now)
            if remedy is not None:
                prepared.entries.setdefault(situation.id, []).append(_remedy_entry(request, remedy.id, now))
        task: CareTask | dict[str, Any] | None = open_tasks.get(situation.id)
        if task is None and warning:
            reason = tasks.reason_for(
                situation.kind, shipment, nth_in_30d=history.nth_in_30d, task_from=settings.care_task_from
            )
            if reason == "repeat" and request.stage != Stage.INITIAL:
                reason = None  # a third problem opens a task with its first warning
            if reason is not None:
                new_tasks.append((request, reason))
        prepared.care[situation.id] = Care(
            history=history.as_context(),
            repeat=history.repeat,
            remedy=remedies.as_context(remedy, settings) if remedy is not None else None,
            care_task=tasks.as_context(task) if task is not None else None,
        )
    for (request, reason), task_id in zip(new_tasks, allocate_ids(session, CareTask, len(new_tasks)), strict=True):
        situation = request.situation
        row = {
            "id": task_id,
            "customer_id": request.customer.id,
            "situation_id": situation.id,
            "subject_key": situation.subject_key,
            "order_id": situation.order_id,
            "reason": reason,
            "status": tasks.OPEN,
            "opened_at": now,
            "closed_at": None,
        }
        prepared.tasks.append(row)
        prepared.entries.setdefault(situation.id, []).append(tasks.opened_entry(row, now=now))
        care = prepared.care[situation.id]
        prepared.care[situation.id] = Care(care.history, care.repeat, care.remedy, tasks.as_context(row))
    return prepared


def _remedy_entry(request: PlanRequest, code_id: int | None, now: datetime) -> Entry:
    return Entry(
        at=now,
        actor="system",
        action="remedy.offered",
        subject=f"situation:{request.situation.id}",
        details={"customer_id": request.customer.id, "remedy_code_id": code_id},  # never the code itself
    )
