"""Staff operations behind the API token: fan-out approvals, the global pause on sending, and clearing
an address from the suppression list.

There are no staff logins yet, so every decision here is recorded as made by the token holder
("staff:api").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, status
from pydantic import BaseModel, Field

from engine.api.deps import RuntimeDep, SessionDep
from engine.api.roles import STAFF_ACTOR, Role, requires
from engine.brakes import approvals, pause
from engine.clock import format_instant
from engine.models import ApprovalStatus, FanoutApproval
from engine.runtime import Runtime
from engine.suppressions import service as suppressions

router = APIRouter(prefix="/api", tags=["ops"])


class Decision(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class PauseRequest(BaseModel):
    paused: bool
    reason: str | None = Field(default=None, max_length=500)


@router.get("/approvals", dependencies=[requires(Role.VIEWER)])
def list_approvals(
    session: SessionDep,
    status: ApprovalStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    items = [approvals.describe(a) for a in approvals.list_approvals(session, status=status, limit=limit)]
    return {"items": items, "count": len(items)}


@router.post("/approvals/{approval_id}/approve", dependencies=[requires(Role.APPROVER)])
def approve(rt: RuntimeDep, approval_id: int, body: Annotated[Decision | None, Body()] = None) -> dict[str, Any]:
    return _decide(approvals.approve, rt, approval_id, body)


@router.post("/approvals/{approval_id}/decline", dependencies=[requires(Role.APPROVER)])
def decline(rt: RuntimeDep, approval_id: int, body: Annotated[Decision | None, Body()] = None) -> dict[str, Any]:
    return _decide(approvals.decline, rt, approval_id, body)


def _decide(fn: Callable[..., FanoutApproval], rt: Runtime, approval_id: int, body: Decision | None) -> dict[str, Any]:
    try:
        with rt.unit_of_work() as session:
            approval = fn(session, approval_id, actor=STAFF_ACTOR, at=rt.clock.now(), note=body.note if body else None)
    except approvals.ApprovalNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except approvals.ApprovalAlreadyDecided as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return approvals.describe(approval)


@router.get("/pause", dependencies=[requires(Role.VIEWER)])
def get_pause(session: SessionDep) -> dict[str, Any]:
    return _state(pause.pause_state(session))


@router.post("/pause", dependencies=[requires(Role.APPROVER)])
def set_pause(rt: RuntimeDep, body: PauseRequest) -> dict[str, Any]:
    with rt.unit_of_work() as session:
        state = pause.set_paused(session, body.paused, STAFF_ACTOR, at=rt.clock.now(), reason=body.reason)
    return _state(state)


def _state(state: pause.PauseState) -> dict[str, Any]:
    return {
        "paused": state.paused,
        "updated_at": format_instant(state.updated_at) if state.updated_at else None,
        "updated_by": state.updated_by,
        "reason": state.reason,
    }


@router.delete("/suppressions/{suppression_id}", dependencies=[requires(Role.APPROVER)])
def clear_suppression(
    rt: RuntimeDep,
    suppression_id: int,
    reason: Annotated[str | None, Query(max_length=500, description="why, for the audit log")] = None,
) -> dict[str, Any]:
    """Send to this address again (the customer fixed their mailbox, texted START by another way, …)."""
    with rt.unit_of_work() as session:
        found = suppressions.lift_by_id(
            session, suppression_id, actor=STAFF_ACTOR, at=rt.clock.now(), reason=reason or "cleared by staff"
        )
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no suppression {suppression_id}")
    return {"cleared": suppression_id}
