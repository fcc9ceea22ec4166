"""Staff operations behind the API token: fan-out approvals, the global pause on sending, and clearing
an address from the suppression list.

Reading needs a viewer's token; deciding a fan-out, pausing and lifting a suppression need an approver's.
Each decision is recorded as made by the token's holder ("staff:api" for the admin machine token).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Body, HTTPException, Query, status
from pydantic import BaseModel, Field

from engine.api.access import ApiApprover
from engine.api.deps import RuntimeDep, SessionDep
from engine.api.params import Limit, RowId
from engine.api.problems import problems
from engine.api.roles import viewer_router
from engine.brakes import approvals, pause
from engine.clock import format_instant
from engine.models import ApprovalStatus, FanoutApproval
from engine.runtime import Runtime
from engine.staff.accounts import Principal
from engine.suppressions import service as suppressions

router = viewer_router("ops")


class Decision(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class PauseRequest(BaseModel):
    paused: bool = Field(strict=True)  # true or false: a 0 or "no" is a mistake, not a decision
    reason: str | None = Field(default=None, max_length=500)


@router.get("/approvals")
def list_approvals(
    session: SessionDep,
    status: ApprovalStatus | None = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    items = [approvals.describe(a) for a in approvals.list_approvals(session, status=status, limit=limit)]
    return {"items": items, "count": len(items)}


@router.post("/approvals/{approval_id}/approve", responses=problems(404, 409))
def approve(
    rt: RuntimeDep, who: ApiApprover, approval_id: RowId, body: Annotated[Decision | None, Body()] = None
) -> dict[str, Any]:
    return _decide(approvals.approve, rt, who, approval_id, body)


@router.post("/approvals/{approval_id}/decline", responses=problems(404, 409))
def decline(
    rt: RuntimeDep, who: ApiApprover, approval_id: RowId, body: Annotated[Decision | None, Body()] = None
) -> dict[str, Any]:
    return _decide(approvals.decline, rt, who, approval_id, body)


def _decide(
    fn: Callable[..., FanoutApproval], rt: Runtime, who: Principal, approval_id: int, body: Decision | None
) -> dict[str, Any]:
    try:
        with rt.unit_of_work() as session:
            approval = fn(session, approval_id, actor=who.actor, at=rt.clock.now(), note=body.note if body else None)
    except approvals.ApprovalNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except approvals.ApprovalAlreadyDecided as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return approvals.describe(approval)


@router.get("/pause")
def get_pause(session: SessionDep) -> dict[str, Any]:
    return _state(pause.pause_state(session))


@router.post("/pause", responses=problems(403))
def set_pause(rt: RuntimeDep, who: ApiApprover, body: PauseRequest) -> dict[str, Any]:
    with rt.unit_of_work() as session:
        state = pause.set_paused(session, body.paused, who.actor, at=rt.clock.now(), reason=body.reason)
    return _state(state)


def _state(state: pause.PauseState) -> dict[str, Any]:
    return {
        "paused": state.paused,
        "updated_at": format_instant(state.updated_at) if state.updated_at else None,
        "updated_by": state.updated_by,
        "reason": state.reason,
    }


@router.delete("/suppressions/{suppression_id}", responses=problems(404))
def clear_suppression(
    rt: RuntimeDep,
    who: ApiApprover,
    suppression_id: RowId,
    reason: Annotated[str | None, Query(max_length=500, description="why, for the audit log")] = None,
) -> dict[str, Any]:
    """Send to this address again (the customer fixed their mailbox, texted START by another way, …)."""
    with rt.unit_of_work() as session:
        found = suppressions.lift_by_id(
            session, suppression_id, actor=who.actor, at=rt.clock.now(), reason=reason or "cleared by staff"
        )
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no suppression {suppression_id}")
    return {"cleared": suppression_id}
