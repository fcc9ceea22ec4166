"""GET /api/tasks: care tasks the engine opened for a person to follow up (engine.care.tasks)."""

from __future__ import annotations

from typing import Any

from engine.api.deps import SessionDep
from engine.api.params import Cursor, Limit
from engine.api.roles import viewer_router
from engine.care.tasks import listing
from engine.vocabulary import CareTaskStatus

router = viewer_router("read")


@router.get("/tasks")
def tasks(
    session: SessionDep, status: CareTaskStatus | None = None, cursor: Cursor = None, limit: Limit = 100
) -> dict[str, Any]:
    """Care tasks, newest first: a stalled, lost or damaged parcel, or a customer's third problem within
    30 days (`reason`); `status` is `closed` once the situation resolved."""
    items, next_cursor = listing(session, status=status, cursor=cursor, limit=limit)
    return {"items": items, "next_cursor": next_cursor}
