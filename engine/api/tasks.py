"""GET /api/tasks: care tasks the engine opened for a person to follow up; POST …/close: a person says the
follow-up is done (engine.care.tasks)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, HTTPException, status
from pydantic import BaseModel, Field

from engine.api.access import ApiEditor
from engine.api.deps import RuntimeDep, SessionDep
from engine.api.params import Cursor, Limit, RowId
from engine.api.problems import problems
from engine.api.roles import viewer_router
from engine.care.tasks import TaskAlreadyClosed, TaskNotFound, close_by_staff, item, listing
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


class Closing(BaseModel):
    note: str | None = Field(default=None, max_length=2000, description="what was done, for the audit log")


@router.post("/tasks/{task_id}/close", responses=problems(404, 409))
def close(
    rt: RuntimeDep, who: ApiEditor, task_id: RowId, body: Annotated[Closing | None, Body()] = None
) -> dict[str, Any]:
    """Close a task once its follow-up is done (a damaged parcel's stays open until then); editor role."""
    try:
        with rt.unit_of_work() as session:
            task = close_by_staff(
                session, task_id, actor=who.actor, at=rt.clock.now(), note=body.note if body else None
            )
    except TaskNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except TaskAlreadyClosed as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return item(task)
