"""GET /api/incidents (live and recent, with how far telling their customers has got), GET
/api/incidents/{id}, and GET /api/approvals/{id} (a fan-out's audience and rendered samples). Deciding
an approval is POST /api/approvals/{id}/approve|decline (engine/api/ops.py)."""

from __future__ import annotations

from typing import Any

from engine.api.deps import RuntimeDep, SessionDep
from engine.api.params import Key, RowId
from engine.api.problems import problems
from engine.api.roles import found, viewer_router
from engine.read.approval_review import approval_review
from engine.read.incidents import incident_summary, incidents_overview

router = viewer_router("incidents")


@router.get("/incidents", summary="Live and recent incidents")
def list_incidents(rt: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    """Unresolved incidents and those resolved in the last 7 days, newest first; customers affected, told,
    waiting (quiet hours, the daily limit, an approval) and thanked; and the pause switch."""
    return incidents_overview(session, now=rt.clock.now())


@router.get("/incidents/{incident_id}", summary="One incident", responses=problems(404))
def get_incident(rt: RuntimeDep, session: SessionDep, incident_id: Key) -> dict[str, Any]:
    return found(incident_summary(session, incident_id, now=rt.clock.now()), f"incident {incident_id}")


@router.get(
    "/approvals/{approval_id}",
    summary="One fan-out approval",
    responses=problems(404),
)
def get_approval(rt: RuntimeDep, session: SessionDep, approval_id: RowId) -> dict[str, Any]:
    """The approval, its followers by channel and locale, and the message rendered for the first follower
    of each language, the longest name and a text that needs UCS-2."""
    return found(approval_review(session, rt, approval_id), f"fan-out approval {approval_id}")
