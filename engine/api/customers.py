"""GET /api/customers/{id}/timeline: one customer's whole story, contact details masked unless revealed."""

from __future__ import annotations

from typing import Any

from engine.api.deps import RuntimeDep
from engine.api.params import Key
from engine.api.problems import problems
from engine.api.roles import ViewerDep, read_one, viewer_router
from engine.read.customer_timeline import customer_timeline

router = viewer_router("customers")


@router.get(
    "/customers/{customer_id}/timeline",
    summary="A customer's timeline",
    responses=problems(404),
)
def timeline(rt: RuntimeDep, customer_id: Key, viewer: ViewerDep) -> dict[str, Any]:
    """Orders, events, incidents, situations, every notice (sent, held, dropped), replies and opt-outs,
    oldest first. `reveal=1` shows email and phone unmasked and is audited (who, when, from where)."""
    return read_one(rt, viewer, lambda s: customer_timeline(s, rt, customer_id, viewer), f"customer {customer_id}")
