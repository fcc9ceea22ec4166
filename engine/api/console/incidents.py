"""The incidents page (`/ops/incidents`): live and recent incidents with how far telling their customers
has got, the fan-outs waiting for a decision (who would hear, by channel and locale, and the message rendered
for the worst cases), and the global pause switch.

Reading is a viewer's; approving or declining a fan-out and pausing are an approver's, by form (CSRF), and
audited with who, when and from where. Read through `engine.read.incidents` and
`engine.read.approval_review`, decided through `engine.brakes` — the same services as `/api/incidents`,
`/api/approvals/{id}` and `/api/pause`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from engine.api.access import Approver, Viewer
from engine.api.console.frames import FRAMES
from engine.api.console.layout import flash_from, message_page, render
from engine.api.deps import RuntimeDep
from engine.api.params import RowId
from engine.brakes import approvals, pause
from engine.console.pages import add_nav
from engine.models import FanoutApproval
from engine.read.approval_review import approval_review
from engine.read.incidents import incidents_overview
from engine.runtime import Runtime
from engine.staff.accounts import Principal
from engine.vocabulary import StaffRole

router = APIRouter(tags=["console"])
BASE = "/ops/incidents"
add_nav("Incidents", BASE, order=40)
FLASH = {
    "approved": "Fan-out approved: its customers are told as the engine sends (quiet hours still apply).",
    "declined": "Fan-out declined: nobody is told about this spell.",
    "paused": "Sending is paused: nothing proactive goes out until someone resumes it.",
    "resumed": "Sending resumed: notices held by the pause go out on the next delivery run.",
}


def _with_frames(review: dict[str, Any], who: Principal) -> dict[str, Any]:
    """Each email sample's HTML in a sandboxed frame of its own (as the template editor's preview)."""
    samples = [
        {**sample, "frame": FRAMES.put(sample["html"], owner=who.user_id) if sample.get("html") else None}
        for sample in review["samples"]
    ]
    return {**review, "samples": samples}


@router.get(BASE, response_class=HTMLResponse)
def incidents(request: Request, rt: RuntimeDep, who: Viewer) -> Response:
    with Session(rt.db) as session:
        overview = incidents_overview(session, now=rt.clock.now())
        pending = {
            a["id"]: _with_frames(review, who)
            for item in overview["items"]
            for a in item["approvals"]
            if a["status"] == "pending" and (review := approval_review(session, rt, a["id"])) is not None
        }
    return render(
        request,
        "incidents.html",
        title="Incidents",
        principal=who,
        section=BASE,
        flash=flash_from(request, FLASH),
        items=overview["items"],
        pause=overview["pause"],
        pending=pending,
        can_decide=who.can(StaffRole.APPROVER),
    )


async def _note(request: Request) -> str | None:
    form = await request.form()
    note = str(form.get("note") or "").strip()[:2000]
    return note or None


def _decide(
    request: Request,
    rt: Runtime,
    who: Principal,
    approval_id: int,
    fn: Callable[..., FanoutApproval],
    note: str | None,
    done: str,
) -> Response:
    try:
        with rt.unit_of_work() as session:
            fn(session, approval_id, actor=who.actor, at=rt.clock.now(), note=note, address=who.address)
    except approvals.ApprovalNotFound as exc:
        return message_page(request, title="No such fan-out", message=str(exc), principal=who, status_code=404)
    except approvals.ApprovalAlreadyDecided as exc:
        link = {"href": BASE, "label": "Back to the incidents"}
        return message_page(
            request, title="Already decided", message=f"{exc}.", principal=who, status_code=409, link=link
        )
    return RedirectResponse(f"{BASE}?done={done}", status_code=303)


@router.post("/ops/approvals/{approval_id}/approve", response_class=HTMLResponse)
async def approve(request: Request, rt: RuntimeDep, who: Approver, approval_id: RowId) -> Response:
    return _decide(request, rt, who, approval_id, approvals.approve, await _note(request), "approved")


@router.post("/ops/approvals/{approval_id}/decline", response_class=HTMLResponse)
async def decline(request: Request, rt: RuntimeDep, who: Approver, approval_id: RowId) -> Response:
    return _decide(request, rt, who, approval_id, approvals.decline, await _note(request), "declined")


@router.post("/ops/pause", response_class=HTMLResponse)
async def set_pause(request: Request, rt: RuntimeDep, who: Approver) -> Response:
    form = await request.form()
    paused = form.get("paused") == "1"
    reason = str(form.get("reason") or "").strip()[:500] or None
    with rt.unit_of_work() as session:
        pause.set_paused(session, paused, who.actor, at=rt.clock.now(), reason=reason, address=who.address)
    return RedirectResponse(f"{BASE}?done={'paused' if paused else 'resumed'}", status_code=303)
