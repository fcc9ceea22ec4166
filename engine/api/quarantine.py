"""GET /api/quarantine: rows a step could not process, set aside with the reason (engine.quarantine)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from engine.api.deps import SessionDep
from engine.api.params import Cursor, Limit
from engine.api.roles import viewer_router
from engine.read.quarantine import list_quarantined
from engine.vocabulary import PoisonKind, Step

router = viewer_router("read")


@router.get("/quarantine")
def quarantine(
    session: SessionDep,
    kind: PoisonKind | None = None,
    step: Step | None = None,
    cleared: Annotated[bool, Query(description="also rows that went through since")] = False,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """What the scan, the event worker, the outage announcer or delivery could not process: the row
    (`kind`, `ref`), the step, the error and how often it failed; `retry_at` is when it is tried again."""
    page = list_quarantined(session, kind=kind, step=step, cleared=cleared, cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}
