"""GET /api/notices (search, keyset pages) and GET /api/notices/{id} (one notice: its parts, timeline and
why it exists)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import Field

from engine.api.deps import RuntimeDep, SessionDep
from engine.api.params import MAX_KEY, PageQuery, RowId
from engine.api.problems import problems
from engine.api.roles import ViewerDep, read_one, viewer_router
from engine.read.notice_detail import notice_detail
from engine.read.notice_search import NoticeSearch, search_notices
from engine.vocabulary import Channel, NoticeStatus, SituationKind, Stage

router = viewer_router("notices")


class NoticeQuery(PageQuery):
    """`since`/`until` bound when the notice was created."""

    customer_id: str | None = Field(None, max_length=MAX_KEY)
    email: str | None = Field(None, max_length=320, description="exact address, any case")
    phone: str | None = Field(None, max_length=32, description="exact number (E.164)")
    order_id: str | None = Field(None, max_length=MAX_KEY)
    incident_id: str | None = Field(None, max_length=MAX_KEY)
    situation: SituationKind | None = None
    stage: Stage | None = None
    channel: Channel | None = None
    status: NoticeStatus | None = None


@router.get("/notices", summary="List notices")
def list_notices(session: SessionDep, query: Annotated[NoticeQuery, Query()]) -> dict[str, Any]:
    """Newest first, `limit` a page; pass `next_cursor` back as `cursor` for the next page.

    `email`/`phone` find the notices sent to that address and every notice of the customers who have it.
    With `until`, a window in the past, the page is in time order."""
    search = query.search(NoticeSearch)
    page = search_notices(session, search)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/notices/{notice_id}",
    summary="One notice and its timeline",
    responses=problems(404),
)
def get_notice(rt: RuntimeDep, notice_id: RowId, viewer: ViewerDep) -> dict[str, Any]:
    """The notice (recipient masked unless `reveal=1`, which is audited), its rendered parts, where it
    stands in plain words, its delivery timeline, and why it exists."""
    return read_one(rt, viewer, lambda s: notice_detail(s, rt, notice_id, viewer), f"notice {notice_id}")
