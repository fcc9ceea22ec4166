"""GET /api/{events,situations,suppressions}: JSON lists with filters, for viewers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlmodel import Session

from engine.api.deps import SessionDep
from engine.api.params import Cursor, Limit, Since, instant
from engine.api.roles import viewer_router
from engine.read import queries
from engine.read.queries import Filters, Page

router = viewer_router("read")


def filters(
    source: str | None = None,
    customer_id: str | None = None,
    order_id: str | None = None,
    situation: Annotated[str | None, Query(description="situation kind, or event type for /api/events")] = None,
    status: str | None = None,
    channel: str | None = None,
    action: str | None = None,
    since: Since = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Filters:
    since_at = instant("since", since)
    return Filters(source, customer_id, order_id, situation, status, channel, action, since_at, cursor, limit)


FiltersDep = Annotated[Filters, Depends(filters)]


def _respond(session: Session, f: Filters, fn: Callable[[Session, Filters], Page]) -> dict[str, Any]:
    page = fn(session, f)
    return {"items": page.items, "next_cursor": page.next_cursor}


def _listing(lister: Callable[[Session, Filters], Page]) -> Callable[[Session, Filters], dict[str, Any]]:
    def listing(session: SessionDep, f: FiltersDep) -> dict[str, Any]:
        return _respond(session, f, lister)

    return listing


# GET /api/events, /api/situations: newest first, filtered, a cursor per page. /api/notices and /api/audit
# take more filters: engine/api/notices.py and engine/api/audit.py.
for _name, _lister in {
    "events": queries.list_events,
    "situations": queries.list_situations,
}.items():
    router.add_api_route(f"/{_name}", _listing(_lister), methods=["GET"], name=_name, summary=f"List {_name}")


@router.get("/suppressions")
def suppressions(
    session: SessionDep,
    f: FiltersDep,
    address: Annotated[str | None, Query(max_length=320, description="an email address or phone number")] = None,
) -> dict[str, Any]:
    """Addresses nothing proactive is sent to: numbers that replied STOP, mailboxes that do not exist.

    Filters: `channel` (email, sms), `source` (customer, twilio, smtp, staff, migration), `address`, `since`.
    """
    return _respond(session, replace(f, address=address), queries.list_suppressions)
