"""Notice pages: search and filter (`/ops/notices`, keyset pages) and one notice (`/ops/notices/{id}`): the
message exactly as sent, its delivery timeline, and why it exists or why it was not sent.

The pages read through the same services as `/api/notices` (`engine.read.notice_search`,
`engine.read.notice_detail`); nothing here queries on its own.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from engine.api.access import Viewer
from engine.api.console.filters import FilterForm, read_for_page, reader
from engine.api.console.frames import FRAME_POLICY
from engine.api.console.layout import render
from engine.api.deps import RuntimeDep
from engine.api.params import RowId
from engine.compose import versions
from engine.console.pages import add_nav
from engine.read.contacts import show_address
from engine.read.notice_detail import notice_detail, sent_html
from engine.read.notice_search import NoticeSearch, search_notices
from engine.runtime import Runtime
from engine.vocabulary import Channel, NoticeStatus, SituationKind, Stage

router = APIRouter(tags=["console"])
BASE = "/ops/notices"
PAGE_SIZE = 50
add_nav("Notices", BASE, order=30)

CHOICES = {
    "situation": [str(kind) for kind in SituationKind],
    "stage": [str(stage) for stage in Stage],
    "channel": [str(channel) for channel in Channel],
    "status": [str(status) for status in NoticeStatus],
}


@router.get(BASE, response_class=HTMLResponse)
def notice_list(request: Request, rt: RuntimeDep, who: Viewer) -> Response:
    query, form = request.query_params, FilterForm()
    search = NoticeSearch(
        customer_id=form.text(query, "customer_id"),
        email=form.text(query, "email", most=320),
        phone=form.text(query, "phone", most=32),
        order_id=form.text(query, "order_id"),
        incident_id=form.text(query, "incident_id"),
        situation=form.choice(query, "situation", SituationKind),
        stage=form.choice(query, "stage", Stage),
        channel=form.choice(query, "channel", Channel),
        status=form.choice(query, "status", NoticeStatus),
        since=form.day(query, "since"),
        until=form.day(query, "until", end=True),
        cursor=form.cursor(query),
        limit=PAGE_SIZE,
    )
    with Session(rt.db) as session:
        page = search_notices(session, search)
    masked = reader(who)
    rows = [{**item, "recipient": show_address(item.get("recipient"), masked)} for item in page.items]
    return render(
        request,
        "notices.html",
        title="Notices",
        principal=who,
        section=BASE,
        form=form,
        choices=CHOICES,
        rows=rows,
        filtered=any(form.values.values()),
        next_link=form.link(BASE, cursor=page.next_cursor) if page.next_cursor else None,
        first_link=form.link(BASE) if search.cursor else None,
    )


def _template_link(rt: Runtime, version_id: int | None) -> dict[str, Any] | None:
    """The editor page of the version this notice was rendered with."""
    if version_id is None:
        return None
    with Session(rt.db) as session:
        try:
            version = versions.get_version(session, version_id)
        except LookupError:
            return None
    key = versions.key_of(version)
    return {
        "href": f"/ops/templates/{key.situation}/{key.stage}/{key.channel}/{key.locale}?version={version.id}",
        "label": f"v{version.number} · {key.label()}",
        "status": version.status,
    }


@router.get(BASE + "/{notice_id}", response_class=HTMLResponse)
@router.post(BASE + "/{notice_id}/reveal", response_class=HTMLResponse)
def notice_page(request: Request, rt: RuntimeDep, who: Viewer, notice_id: RowId) -> Response:
    """The recipient's address masked, or shown and audited (see `read_for_page`)."""
    found, revealed = read_for_page(
        request, rt, who, lambda session, viewer: notice_detail(session, rt, notice_id, viewer), f"notice {notice_id}"
    )
    return render(
        request,
        "notice.html",
        title=f"Notice {notice_id}",
        principal=who,
        section=BASE,
        n=found["notice"],
        parts=found["parts"],
        outcome=found["outcome"],
        timeline=found["timeline"],
        merged_from=found["merged_from"],
        why=found["why"],
        template=_template_link(rt, found["template_version_id"]),
        revealed=revealed,
        email_frame=f"{BASE}/{notice_id}/email.html" if found["parts"].get("html") else None,
    )


@router.get(BASE + "/{notice_id}/email.html", response_class=HTMLResponse)
def notice_email(rt: RuntimeDep, who: Viewer, notice_id: RowId) -> Response:
    """The email's HTML exactly as sent, for the page's sandboxed frame: no scripts, framed only by the console."""
    with Session(rt.db) as session:
        html = sent_html(session, notice_id)
    if html is None:
        raise HTTPException(404, f"notice {notice_id} has no HTML part")
    headers = {"Content-Security-Policy": FRAME_POLICY, "X-Frame-Options": "SAMEORIGIN", "Cache-Control": "no-store"}
    return HTMLResponse(html, headers=headers)
