"""Template pages: the list, the editor with its live preview and checklist, versions, diffs, test sends."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from engine.api.access import Approver, Editor, Viewer
from engine.api.console.frames import FRAME_POLICY, FRAMES
from engine.api.console.layout import flash_from, render
from engine.api.deps import RuntimeDep
from engine.api.security import csp_nonce
from engine.compose import catalog, contract, fixtures, versions
from engine.compose.render import PARTS_BY_CHANNEL
from engine.compose.sampling import BadContext, Rendered, render_with
from engine.compose.versions import TemplateKey, VersionError
from engine.console.pages import add_nav, render_page
from engine.models import Notice, TemplateVersion
from engine.notices.rerender import CannotSendTest, send_test
from engine.runtime import Runtime
from engine.staff.accounts import Principal
from engine.vocabulary import StaffRole, VersionStatus

router = APIRouter(tags=["console"])
add_nav("Templates", "/ops/templates", order=20)
BASE = "/ops/templates"
PART_LABELS = {"subject": "Subject", "text": "Plain text", "html": "HTML", "sms": "SMS"}
FLASH = {
    "saved": "Draft saved. Preview it, then publish it (or ask an approver).",
    "publish": "Published: the next message uses it.",
    "approve": "Approved and published: the next message uses it.",
    "rollback": "Rolled back: the older words are a new version.",
}


def _key(situation: str, stage: str, channel: str, locale: str) -> TemplateKey:
    try:
        return versions.resolve_key(situation, stage, channel, locale)
    except VersionError as exc:
        raise HTTPException(404, str(exc)) from None


# A template's editor and its actions: the four path segments are read (and a 404 given) by `_key`.
KEY_PATH = BASE + "/{situation}/{stage}/{channel}/{locale}"
KeyDep = Annotated[TemplateKey, Depends(_key)]


def _path(key: TemplateKey) -> str:
    return f"{BASE}/{key.situation}/{key.stage}/{key.channel}/{key.locale}"


@router.get(BASE, response_class=HTMLResponse)
def template_list(request: Request, rt: RuntimeDep, who: Viewer) -> Response:
    with rt.unit_of_work() as session:
        entries = catalog.overview(session)
    groups: dict[str, list[catalog.Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.situation, []).append(entry)
    return render(
        request,
        "templates_list.html",
        title="Templates",
        principal=who,
        section=BASE,
        groups=groups,
        missing=catalog.missing_locales(entries),
        base=BASE,
    )


def _recent_notices(session: Session, key: TemplateKey) -> list[Notice]:
    statement = (
        select(Notice)
        .where(Notice.situation == key.situation, Notice.stage == key.stage, Notice.channel == key.channel)
        .order_by(col(Notice.id).desc())
        .limit(15)
    )
    return list(session.exec(statement).all())


def _loaded(history: list[TemplateVersion], wanted: int | None) -> TemplateVersion | None:
    if wanted is not None:
        return next((v for v in history if v.id == wanted), None)
    published = next((v for v in history if v.status == VersionStatus.PUBLISHED), None)
    newest = history[0] if history else None
    return newest if newest is not None and newest.status == VersionStatus.DRAFT else published


def _preview_fragment(
    request: Request, who: Principal, key: TemplateKey, rendered: Rendered | None, error: str | None
) -> str:
    frames: dict[str, str] = {}
    if rendered is not None and rendered.preview.html:
        frames["draft"] = FRAMES.put(rendered.preview.html, owner=who.user_id)
    if rendered is not None and rendered.sent and rendered.sent.get("html"):
        frames["sent"] = FRAMES.put(rendered.sent["html"] or "", owner=who.user_id)
    return render_page(
        "_preview.html",
        {"key": key, "rendered": rendered, "error": error, "frames": frames, "base": BASE, "nonce": csp_nonce(request)},
    )


def _render_preview(
    rt: Runtime, key: TemplateKey, parts: dict[str, str], context: str
) -> tuple[Rendered | None, str | None]:
    with rt.unit_of_work() as session:
        try:
            return render_with(session, rt, key, parts, context), None
        except BadContext as exc:
            return None, str(exc)


async def _form_preview(request: Request, rt: Runtime, key: TemplateKey) -> tuple[Rendered | None, str | None, str]:
    """The editor's words as submitted, rendered with the chosen sample (or why they could not be)."""
    parts, context, _ = await _form_parts(request, key)
    return *_render_preview(rt, key, parts, context), context


def editor_page(
    request: Request,
    rt: Runtime,
    who: Principal,
    key: TemplateKey,
    *,
    version_id: int | None = None,
    parts: dict[str, str] | None = None,
    errors: list[contract.Problem] | None = None,
    context: str | None = None,
    status_code: int = 200,
) -> Response:
    with rt.unit_of_work() as session:
        history = versions.history(session, key)
        recent = _recent_notices(session, key)
    loaded = _loaded(history, version_id)
    shown = parts if parts is not None else dict(loaded.parts) if loaded else {}
    shown = {part: shown.get(part, "") for part in PARTS_BY_CHANNEL[key.channel]}
    chosen = context or f"sample:{fixtures.default_fixture(key.situation, key.locale)}"
    rendered, problem = _render_preview(rt, key, shown, chosen)
    documented = contract.documented()
    return render(
        request,
        "template_editor.html",
        title=f"{key.situation} · {key.stage} · {key.channel} · {key.locale}",
        principal=who,
        section=BASE,
        status_code=status_code,
        flash=flash_from(request, FLASH),
        key=key,
        path=_path(key),
        base=BASE,
        parts=shown,
        labels=PART_LABELS,
        history=history,
        current=next((v for v in history if v.status == VersionStatus.PUBLISHED), None),
        loaded=loaded,
        errors=errors or [],
        samples=fixtures.fixtures_for(key.situation),
        recent=recent,
        chosen=chosen,
        variables=[(name, documented.get(name)) for name in contract.leaf_paths()],
        can_edit=who.can(StaffRole.EDITOR),
        can_publish=who.can(StaffRole.APPROVER),
        approval_required=rt.settings.template_approval,
        preview_html=_preview_fragment(request, who, key, rendered, problem),
    )


async def _form_parts(request: Request, key: TemplateKey) -> tuple[dict[str, str], str, str]:
    form = await request.form()
    parts = {part: str(form.get(part) or "").replace("\r\n", "\n") for part in PARTS_BY_CHANNEL[key.channel]}
    return parts, str(form.get("context") or "sample:first-delay"), str(form.get("note") or "")[:500]


@router.post(KEY_PATH + "/preview", response_class=HTMLResponse)
async def preview(request: Request, rt: RuntimeDep, who: Editor, key: KeyDep) -> Response:
    rendered, problem, _ = await _form_preview(request, rt, key)
    return HTMLResponse(_preview_fragment(request, who, key, rendered, problem))


@router.post(KEY_PATH + "/drafts", response_class=HTMLResponse)
async def save(request: Request, rt: RuntimeDep, who: Editor, key: KeyDep) -> Response:
    parts, context, note = await _form_parts(request, key)
    with rt.unit_of_work() as session:
        saved = versions.save_draft(
            session, key, parts, author=who.actor, at=rt.clock.now(), note=note or None, address=who.address
        )
    if saved.version is None:
        return editor_page(request, rt, who, key, parts=parts, errors=saved.errors, context=context, status_code=400)
    return RedirectResponse(f"{_path(key)}?version={saved.version.id}&done=saved", status_code=303)


@router.post(KEY_PATH + "/test", response_class=HTMLResponse)
async def test_send(request: Request, rt: RuntimeDep, who: Editor, key: KeyDep) -> Response:
    rendered, problem, context = await _form_preview(request, rt, key)
    if rendered is None:
        return HTMLResponse(render_page("_notice.html", {"kind": "error", "text": problem or "no preview"}))
    try:
        with rt.unit_of_work() as session:
            result = send_test(
                session, rt, who, channel=key.channel, rendered=rendered.preview, template=key.label(), sample=context
            )
    except CannotSendTest as exc:
        return HTMLResponse(render_page("_notice.html", {"kind": "error", "text": str(exc)}))
    if not result.ok:
        return HTMLResponse(
            render_page("_notice.html", {"kind": "error", "text": f"The provider refused it: {result.error}"})
        )
    where = "your email" if key.channel == "email" else "your mobile"
    return HTMLResponse(
        render_page("_notice.html", {"kind": "flash", "text": f"Test sent to {where} through the real channel."})
    )


@router.post(BASE + "/versions/{version_id}/{action}")
def decide(request: Request, rt: RuntimeDep, who: Approver, version_id: int, action: str) -> Response:
    if action not in versions.ACTIONS:
        raise HTTPException(404, f"no such action {action!r}")
    try:
        version = versions.decide_now(rt, action, version_id, who)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    except VersionError as exc:
        with rt.unit_of_work() as session:
            key = versions.key_of(versions.get_version(session, version_id))
        return editor_page(
            request,
            rt,
            who,
            key,
            version_id=version_id,
            errors=[contract.Problem("version", 0, 0, str(exc))],
            status_code=409,
        )
    key = versions.key_of(version)
    return RedirectResponse(f"{_path(key)}?version={version.id}&done={action}", status_code=303)


@router.get(BASE + "/versions/{a}/diff/{b}", response_class=HTMLResponse)
def diff(request: Request, rt: RuntimeDep, who: Viewer, a: int, b: int) -> Response:
    with rt.unit_of_work() as session:
        try:
            left, right = versions.get_version(session, a), versions.get_version(session, b)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
    key = versions.key_of(right)
    return render(
        request,
        "template_diff.html",
        title=f"Compare v{left.number} with v{right.number}",
        principal=who,
        section=BASE,
        left=left,
        right=right,
        key=key,
        path=_path(key),
        parts=versions.diff(left, right),
    )


@router.get(BASE + "/compare", response_class=HTMLResponse)
def compare(who: Viewer, a: int, b: int) -> Response:
    """The editor's "compare any two versions" form: a plain GET, so it carries no CSRF token."""
    return RedirectResponse(f"{BASE}/versions/{a}/diff/{b}", status_code=303)


@router.get(BASE + "/frame/{name}", response_class=HTMLResponse)
def frame(who: Viewer, name: str) -> Response:
    html = FRAMES.get(name, owner=who.user_id)
    if html is None:
        raise HTTPException(404, "this preview expired; type in the editor to refresh it")
    headers: dict[str, Any] = {
        "Content-Security-Policy": FRAME_POLICY,
        "X-Frame-Options": "SAMEORIGIN",
        "Cache-Control": "no-store",
    }
    return HTMLResponse(html, headers=headers)


# Last: its four free segments would also match /versions/{a}/diff/{b}.
@router.get(KEY_PATH, response_class=HTMLResponse)
def editor(request: Request, rt: RuntimeDep, who: Viewer, key: KeyDep, version: int | None = None) -> Response:
    return editor_page(request, rt, who, key, version_id=version)
