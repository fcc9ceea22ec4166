"""The audit page (`/ops/audit`): entries filtered by actor, action, subject and date (keyset pages), a CSV
export of any range streamed in constant memory (audited), and the hash chain's state with "verify now".

Read through `engine.read.audit_log`, the service behind `/api/audit`, `/api/audit.csv` and
`/api/audit/chain`.
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlmodel import Session

from engine.api.access import Viewer
from engine.api.audit import csv_download
from engine.api.console.filters import FilterForm
from engine.api.console.layout import flash_from, render
from engine.api.deps import RuntimeDep
from engine.console.pages import add_nav
from engine.read import audit_log
from engine.read.audit_log import AuditSearch

router = APIRouter(tags=["console"])
BASE = "/ops/audit"
PAGE_SIZE = 100
add_nav("Audit log", BASE, order=50)
FLASH = {"verified": "The chain was verified just now; the result is below and in the log."}


def _search(form: FilterForm, request: Request, *, limit: int = PAGE_SIZE) -> AuditSearch:
    query = request.query_params
    return AuditSearch(
        actor=form.text(query, "actor", most=200),
        action=form.text(query, "action", most=64),
        subject=form.text(query, "subject", most=200),
        since=form.day(query, "since"),
        until=form.day(query, "until", end=True),
        cursor=form.cursor(query),
        limit=limit,
    )


@router.get(BASE, response_class=HTMLResponse)
def audit_page(request: Request, rt: RuntimeDep, who: Viewer) -> Response:
    form = FilterForm()
    search = _search(form, request)
    with Session(rt.db) as session:
        page = audit_log.search_audit(session, search)
        chain = audit_log.describe_chain(audit_log.chain_state(session))
    rows = [{**item, "details_text": json.dumps(item["details"], ensure_ascii=False)} for item in page.items]
    return render(
        request,
        "audit.html",
        title="Audit log",
        principal=who,
        section=BASE,
        flash=flash_from(request, FLASH),
        form=form,
        rows=rows,
        chain=chain,
        filtered=any(form.values.values()),
        csv_link=form.link(BASE + ".csv"),
        next_link=form.link(BASE, cursor=page.next_cursor) if page.next_cursor else None,
        first_link=form.link(BASE) if search.cursor else None,
    )


@router.get(BASE + ".csv")
def audit_csv(request: Request, rt: RuntimeDep, who: Viewer) -> StreamingResponse:
    """Every entry matching the page's filters, oldest first, streamed (any range, constant memory). The
    export is itself audited (`audit.exported`, with the filters, who and from where)."""
    search = _search(FilterForm(), request)
    return csv_download(rt, search, actor=who.actor, address=who.address)


@router.post(BASE + "/verify")
def verify(rt: RuntimeDep, who: Viewer) -> Response:
    """Recompute every entry's hash and link now; the result is recorded (`audit.verified`) and shown."""
    with rt.unit_of_work() as session:
        audit_log.verify_now(
            session,
            rt.db,
            actor=who.actor,
            at=rt.clock.now(),
            checkpoint_file=Path(rt.settings.audit_checkpoint_file),
        )
    return RedirectResponse(f"{BASE}?done=verified", status_code=303)
