"""Ask for, list and decide fan-out approvals (FOREWARN_FANOUT_APPROVAL).

`scan_outages` asks (`request_approval`) instead of telling more than the threshold of customers at once.
Approving leaves the component due, so the next scan announces as usual; declining clears the
component's `notify_at`, so nothing is sent about that spell. Every step is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from engine import audit
from engine.brakes import repository
from engine.clock import format_instant
from engine.db import row_locks
from engine.errors import ForewarnError
from engine.models import ApprovalStatus, Component, FanoutApproval


class ApprovalNotFound(ForewarnError):
    """No fan-out approval has that id."""


class ApprovalAlreadyDecided(ForewarnError):
    """The approval was approved or declined before."""


def request_approval(
    session: Session,
    *,
    incident_id: str,
    component: str,
    recipients: int,
    preview_subject: str | None,
    preview_text: str,
    now: datetime,
) -> FanoutApproval:
    """Record a pending approval inside the caller's transaction (the scan's)."""
    approval = FanoutApproval(
        incident_id=incident_id,
        component=component,
        recipients=recipients,
        preview_subject=preview_subject,
        preview_text=preview_text,
        requested_at=now,
    )
    session.add(approval)
    session.flush()
    audit.append(
        session,
        at=now,
        actor="system",
        action="fanout.approval_requested",
        subject=f"incident:{incident_id}",
        details={"approval_id": approval.id, "component": component, "recipients": recipients},
    )
    return approval


def list_approvals(session: Session, *, status: str | None = None, limit: int = 100) -> list[FanoutApproval]:
    return repository.listing(session, status=status, limit=limit)


def approve(
    session: Session, approval_id: int, *, actor: str, at: datetime, note: str | None = None, address: str | None = None
) -> FanoutApproval:
    return _decide(session, approval_id, ApprovalStatus.APPROVED, actor=actor, at=at, note=note, address=address)


def decline(
    session: Session, approval_id: int, *, actor: str, at: datetime, note: str | None = None, address: str | None = None
) -> FanoutApproval:
    return _decide(session, approval_id, ApprovalStatus.DECLINED, actor=actor, at=at, note=note, address=address)


def _decide(
    session: Session,
    approval_id: int,
    status: ApprovalStatus,
    *,
    actor: str,
    at: datetime,
    note: str | None,
    address: str | None = None,
) -> FanoutApproval:
    approval = repository.get_for_decision(session, approval_id)
    if approval is None:
        raise ApprovalNotFound(f"no fan-out approval {approval_id}")
    if approval.status != ApprovalStatus.PENDING:
        raise ApprovalAlreadyDecided(
            f"fan-out approval {approval_id} was already {approval.status} by {approval.decided_by}"
        )
    approval.status, approval.decided_at, approval.decided_by, approval.note = status, at, actor, note
    details: dict[str, Any] = {
        "approval_id": approval.id,
        "component": approval.component,
        "recipients": approval.recipients,
        "note": note,
    }
    if address is not None:  # a staff member's network address (the console); the API token has none to give
        details["address"] = address
    if status == ApprovalStatus.DECLINED:
        component = session.get(Component, approval.component, with_for_update=row_locks(session))
        if component is not None and component.incident_id == approval.incident_id:
            # Nobody is told about this spell; a later one of the same incident follows this decision too.
            details["cleared_notify_at"] = component.notify_at
            component.notify_at = None
    audit.append(
        session,
        at=at,
        actor=actor,
        action=f"fanout.{status}",
        subject=f"incident:{approval.incident_id}",
        details=details,
    )
    return approval


def describe(approval: FanoutApproval) -> dict[str, Any]:
    """The JSON shape the API returns."""
    return {
        "id": approval.id,
        "incident_id": approval.incident_id,
        "component": approval.component,
        "recipients": approval.recipients,
        "preview": {"subject": approval.preview_subject, "text": approval.preview_text},
        "status": approval.status,
        "requested_at": format_instant(approval.requested_at),
        "decided_at": format_instant(approval.decided_at) if approval.decided_at else None,
        "decided_by": approval.decided_by,
        "note": approval.note,
    }
