"""GET /api/audit (filtered, keyset pages), GET /api/audit.csv (any range, streamed), and the hash chain's
state: GET /api/audit/chain, POST /api/audit/chain/verify."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from engine.api.deps import RuntimeDep, SessionDep
from engine.api.params import MAX_KEY, Cursor, Limit, Since, Until, instant
from engine.api.problems import problems
from engine.api.roles import Role, StaffDep, requires
from engine.clock import format_instant
from engine.read import audit_log
from engine.read.audit_log import AuditSearch

router = APIRouter(prefix="/api", tags=["audit"], responses=problems(400, 401, 403))


def audit_filters(
    actor: Annotated[str | None, Query(max_length=200, description='"system", "staff:ana@example.com", …')] = None,
    action: Annotated[str | None, Query(max_length=64, description='"notice.sent", "fanout.approved", …')] = None,
    subject: Annotated[str | None, Query(max_length=200, description='"notice:12", "incident:INC-7", …')] = None,
    customer_id: Annotated[
        str | None, Query(max_length=MAX_KEY, description='the same as subject "customer:<id>"')
    ] = None,
    since: Since = None,
    until: Until = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> AuditSearch:
    return AuditSearch(
        actor=actor,
        action=action,
        subject=subject,
        customer_id=customer_id,
        since=instant("since", since),
        until=instant("until", until),
        cursor=cursor,
        limit=limit,
    )


AuditFilters = Annotated[AuditSearch, Depends(audit_filters)]


@router.get("/audit", dependencies=[requires(Role.VIEWER)], summary="List audit entries")
def list_audit(session: SessionDep, search: AuditFilters) -> dict[str, Any]:
    """Newest first (by `seq`); with `until`, a window in the past, in time order."""
    page = audit_log.search_audit(session, search)
    return {"items": page.items, "next_cursor": page.next_cursor}


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "the entries, one per line", "content": {"text/csv": {"schema": {"type": "string"}}}}
}


@router.get(
    "/audit.csv",
    dependencies=[requires(Role.VIEWER)],
    summary="Export audit entries as CSV",
    response_class=StreamingResponse,
    responses=CSV_RESPONSE,
)
def export_audit(rt: RuntimeDep, search: AuditFilters, staff: StaffDep) -> StreamingResponse:
    """Every matching entry, oldest first, streamed (any range, in constant memory). The export is audited."""
    with rt.unit_of_work() as session:
        audit_log.record_export(session, search, actor=staff.actor, at=rt.clock.now(), address=staff.address)

    def lines() -> Iterator[str]:
        # The stream's own session: the request's would be closed before the body is sent.
        with Session(rt.db) as session:
            yield from audit_log.csv_lines(session, search)

    name = f"forewarn-audit-{format_instant(rt.clock.now()).replace(':', '')}.csv"
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.get("/audit/chain", dependencies=[requires(Role.VIEWER)], summary="The audit chain's state")
def chain(session: SessionDep) -> dict[str, Any]:
    """How many entries, the head, and what the last verification found (when, by whom, the first broken entry)."""
    return audit_log.describe_chain(audit_log.chain_state(session))


@router.post("/audit/chain/verify", dependencies=[requires(Role.VIEWER)], summary="Verify the audit chain now")
def verify(rt: RuntimeDep, staff: StaffDep) -> dict[str, Any]:
    """Recompute every entry's hash and link; the result is recorded (`audit.verified`) and returned."""
    with rt.unit_of_work() as session:
        state = audit_log.verify_now(
            session,
            rt.db,
            actor=staff.actor,
            at=rt.clock.now(),
            checkpoint_file=Path(rt.settings.audit_checkpoint_file),
        )
    return audit_log.describe_chain(state)
