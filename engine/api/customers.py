"""GET /api/customers/{id}/timeline: one customer's whole story, contact details masked unless revealed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from engine.api.deps import RuntimeDep
from engine.api.params import Key
from engine.api.problems import problems
from engine.api.roles import Role, ViewerDep, reading, requires
from engine.read.customer_timeline import customer_timeline

router = APIRouter(prefix="/api", tags=["customers"], responses=problems(400, 401, 403))


@router.get(
    "/customers/{customer_id}/timeline",
    dependencies=[requires(Role.VIEWER)],
    summary="A customer's timeline",
    responses=problems(404),
)
def timeline(rt: RuntimeDep, customer_id: Key, viewer: ViewerDep) -> dict[str, Any]:
    """Orders, events, incidents, situations, every notice (sent, held, dropped), replies and opt-outs,
    oldest first. `reveal=1` shows email and phone unmasked and is audited (who, when, from where)."""
    with reading(rt, viewer) as session:
        found = customer_timeline(session, rt, customer_id, viewer)
    if found is None:
        raise HTTPException(404, f"no customer {customer_id}")
    return found
