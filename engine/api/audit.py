"""GET /api/audit (filtered, keyset pages), GET /api/audit.csv (any range, streamed), and the hash chain's
state: GET /api/audit/chain, POST /api/audit/chain/verify."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import Field
from sqlmodel import Session

from engine.api.deps import RuntimeDep, SessionDep
from engine.api.params import MAX_KEY, PageQuery
from engine.api.roles import StaffDep, viewer_router
from engine.clock import format_instant
from engine.read import audit_log
from engine.read.audit_log import AuditSearch
from engine.runtime import Runtime

router = viewer_router("audit")


class AuditQuery(PageQuery):
    actor: str | None = Field(None, max_length=200, description='"system", "staff:ana@example.com", …')
    action: str | None = Field(None, max_length=64, description='"notice.sent", "fanout.approved", …')
    subject: str | None = Field(None, max_length=200, description='"notice:12", "incident:INC-7", …')
    customer_id: str | None = Field(None, max_length=MAX_KEY, description='the same as subject "customer:<id>"')


def audit_filters(query: Annotated[AuditQuery, Query()]) -> AuditSearch:
    return query.search(AuditSearch)


AuditFilters = Annotated[AuditSearch, Depends(audit_filters)]


@router.get("/audit", summary="List audit entries")
def list_audit(session: SessionDep, search: AuditFilters) -> dict[str, Any]:
    """Newest first (by `seq`); with `until`, a window in the past, in time order."""
    page = audit_log.search_audit(session, search)
    return {"items": page.items, "next_cursor": page.next_cursor}


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "the entries, one per line", "content": {"text/csv": {"schema": {"type": "string"}}}}
}


@router.get(
    "/audit.csv",
    summary="Export audit entries as CSV",
    response_class=StreamingResponse,
    responses=CSV_RESPONSE,
)
def export_audit(rt: RuntimeDep, search: AuditFilters, staff: StaffDep) -> StreamingResponse:
    """Every matching entry, oldest first, streamed (any range, in constant memory). The export is audited."""
    return csv_download(rt, search, actor=staff.actor, address=staff.address)


def csv_download(rt: Runtime, search: AuditSearch, *, actor: str, address: str | None) -> StreamingResponse:
    """The export behind `/api/audit.csv` and the console's `/ops/audit.csv`: recorded (`audit.exported`,
    with the filters, who and from where) before the first line is sent."""
    with rt.unit_of_work() as session:
        audit_log.record_export(session, search, actor=actor, at=rt.clock.now(), address=address)

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


@router.get("/audit/chain", summary="The audit chain's state")
def chain(session: SessionDep) -> dict[str, Any]:
    """How many entries, the head, and what the last verification found (when, by whom, the first broken entry)."""
    return audit_log.describe_chain(audit_log.chain_state(session))


@router.post("/audit/chain/verify", summary="Verify the audit chain now")
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
