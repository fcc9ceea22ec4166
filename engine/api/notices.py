"""GET /api/notices (search, keyset pages) and GET /api/notices/{id} (one notice: its parts, timeline and
why it exists)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from engine.api.deps import RuntimeDep, SessionDep
from engine.api.params import MAX_KEY, Cursor, Limit, RowId, instant, instant_query
from engine.api.problems import problems
from engine.api.roles import Role, ViewerDep, reading, requires
from engine.read.notice_detail import notice_detail
from engine.read.notice_search import NoticeSearch, search_notices
from engine.vocabulary import Channel, NoticeStatus, SituationKind, Stage

router = APIRouter(prefix="/api", tags=["notices"], responses=problems(400, 401, 403))


@router.get("/notices", dependencies=[requires(Role.VIEWER)], summary="List notices")
def list_notices(
    session: SessionDep,
    customer_id: Annotated[str | None, Query(max_length=MAX_KEY)] = None,
    email: Annotated[str | None, Query(max_length=320, description="exact address, any case")] = None,
    phone: Annotated[str | None, Query(max_length=32, description="exact number (E.164)")] = None,
    order_id: Annotated[str | None, Query(max_length=MAX_KEY)] = None,
    incident_id: Annotated[str | None, Query(max_length=MAX_KEY)] = None,
    situation: SituationKind | None = None,
    stage: Stage | None = None,
    channel: Channel | None = None,
    status: NoticeStatus | None = None,
    since: Annotated[str | None, instant_query("created at or after (RFC 3339 with offset)")] = None,
    until: Annotated[str | None, instant_query("created before (RFC 3339 with offset)")] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Newest first, `limit` a page; pass `next_cursor` back as `cursor` for the next page.

    `email`/`phone` find the notices sent to that address and every notice of the customers who have it.
    With `until`, a window in the past, the page is in time order."""
    search = NoticeSearch(
        customer_id=customer_id,
        email=email,
        phone=phone,
        order_id=order_id,
        incident_id=incident_id,
        situation=situation,
        stage=stage,
        channel=channel,
        status=status,
        since=instant("since", since),
        until=instant("until", until),
        cursor=cursor,
        limit=limit,
    )
    page = search_notices(session, search)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/notices/{notice_id}",
    dependencies=[requires(Role.VIEWER)],
    summary="One notice and its timeline",
    responses=problems(404),
)
def get_notice(rt: RuntimeDep, notice_id: RowId, viewer: ViewerDep) -> dict[str, Any]:
    """The notice (recipient masked unless `reveal=1`, which is audited), its rendered parts, where it
    stands in plain words, its delivery timeline, and why it exists."""
    with reading(rt, viewer) as session:
        found = notice_detail(session, rt, notice_id, viewer)
    if found is None:
        raise HTTPException(404, f"no notice {notice_id}")
    return found
