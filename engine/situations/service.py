"""Open, update and resolve situations; each change that matters to the customer plans notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from engine import audit
from engine.models import Customer, Notice, NoticeStatus, Situation, SituationStatus
from engine.notices import repository as notices_repo
from engine.notices.dropping import drop_notice
from engine.notices.planner import Subject, plan_notices
from engine.runtime import Runtime
from engine.situations import repository

WARNING_STAGES = ("initial", "update")


def raise_situation(
    session: Session,
    rt: Runtime,
    *,
    customer: Customer,
    kind: str,
    subject_key: str,
    subject: Subject,
    details: dict[str, Any],
    material: bool,
    reason: str,
    next_update_at: datetime | None = None,
) -> Situation:
    """Open the situation, or update it when the change is material; tell the customer either way."""
    now = rt.clock.now()
    situation = repository.find(session, customer_id=customer.id, subject_key=subject_key, kind=kind)
    if situation is None:
        situation = Situation(
            customer_id=customer.id,
            kind=kind,
            subject_key=subject_key,
            order_id=subject.order.id if subject.order else None,
            incident_id=subject.incident.id if subject.incident else None,
            details=details,
            opened_at=now,
            updated_at=now,
        )
        session.add(situation)
        session.flush()
        action = "situation.opened"
    elif situation.status == SituationStatus.RESOLVED:
        situation.status, situation.resolved_at = SituationStatus.OPEN, None
        action = "situation.reopened"
    elif material:
        action = "situation.updated"
    else:
        return situation
    situation.details, situation.updated_at = details, now
    audit.append(
        session,
        at=now,
        actor="system",
        action=action,
        subject=f"situation:{situation.id}",
        details={"kind": kind, "subject": subject_key, "customer_id": customer.id, "reason": reason},
    )
    thread = notices_repo.in_thread(session, customer_id=customer.id, thread_key=subject_key)
    reached = notices_repo.effective_statuses(session, thread)  # a merged warning told them too
    told = any(n.stage in WARNING_STAGES and reached.get(n.id or 0) in notices_repo.LIVE for n in thread)
    plan_notices(
        session,
        rt,
        situation=situation,
        stage="update" if told else "initial",
        customer=customer,
        subject=subject,
        next_update_at=next_update_at,
    )
    return situation


def resolve_subject(
    session: Session,
    rt: Runtime,
    *,
    customer: Customer,
    subject_key: str,
    subject: Subject,
    reason: str,
    follow_up: bool,
) -> list[Situation]:
    """Resolve every open situation about this subject; thank exactly those we warned, once."""
    now = rt.clock.now()
    situations = repository.open_for_subject(session, customer_id=customer.id, subject_key=subject_key)
    if not situations:
        return []
    for situation in situations:
        situation.status, situation.resolved_at, situation.updated_at = SituationStatus.RESOLVED, now, now
        audit.append(
            session,
            at=now,
            actor="system",
            action="situation.resolved",
            subject=f"situation:{situation.id}",
            details={"kind": situation.kind, "reason": reason},
        )
    thread = notices_repo.in_thread(session, customer_id=customer.id, thread_key=subject_key)
    _drop_unsent_warnings(session, thread, now=now, reason=f"{reason} before it was sent")
    reached = notices_repo.effective_statuses(session, thread)
    warned = {
        n.channel
        for n in thread
        if n.stage in WARNING_STAGES and reached.get(n.id or 0) in (NoticeStatus.SENT, NoticeStatus.SENDING)
    }
    already = any(n.stage == "resolved" and n.status in notices_repo.LIVE for n in thread)
    if follow_up and warned and not already:
        plan_notices(
            session,
            rt,
            situation=situations[0],
            stage="resolved",
            customer=customer,
            subject=subject,
            only_channels=warned,
        )
    return situations


def _drop_unsent_warnings(session: Session, thread: list[Notice], *, now: datetime, reason: str) -> None:
    for notice in thread:
        if notice.stage in WARNING_STAGES and notice.status == NoticeStatus.PENDING:
            drop_notice(session, notice, at=now, reason=reason)
