"""Templates as JSON (DESIGN §10): list, get, drafts, preview, publish, approve, roll back, diff.

The same services and roles as the console's pages: reading needs a viewer, drafting and previewing an
editor, publishing, approving and rolling back an approver.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from engine.api.access import ApiApprover, ApiEditor, ApiViewer
from engine.api.deps import RuntimeDep, SessionDep
from engine.api.params import RowId
from engine.api.problems import problem, problems
from engine.compose import catalog, versions
from engine.compose.preview import problem_dict
from engine.compose.sampling import BadContext, render_with
from engine.compose.versions import TemplateKey, VersionError
from engine.models import TemplateVersion
from engine.runtime import Runtime

router = APIRouter(prefix="/api/templates", tags=["templates"], responses=problems(400, 401, 403))
MAX_PART = 100_000
# A template's key in the path: unknown words are a 404 (no such template), long ones never reach a query.
Word = Annotated[str, Path(min_length=1, max_length=64)]


class DraftBody(BaseModel):
    subject: str | None = Field(default=None, max_length=MAX_PART)
    text: str | None = Field(default=None, max_length=MAX_PART)
    html: str | None = Field(default=None, max_length=MAX_PART)
    sms: str | None = Field(default=None, max_length=MAX_PART)
    note: str | None = Field(default=None, max_length=500)

    def parts(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump(exclude={"note"}).items() if v is not None}


class PreviewBody(BaseModel):
    situation: str = Field(max_length=64)
    stage: str = Field(max_length=64)
    channel: str = Field(max_length=64)
    locale: str = Field(default="en", max_length=64)
    parts: dict[str, Annotated[str, Field(max_length=MAX_PART)]]
    context: str = Field(default="sample:first-delay", max_length=200, description='"sample:NAME" or "notice:ID"')


def key_or_404(situation: str, stage: str, channel: str, locale: str) -> TemplateKey:
    try:
        return versions.resolve_key(situation, stage, channel, locale)
    except VersionError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


@router.get("")
def list_templates(session: SessionDep, who: ApiViewer) -> list[dict[str, Any]]:
    return [entry.as_dict() for entry in catalog.overview(session)]


@router.post("/preview", responses=problems(404))
def preview_draft(rt: RuntimeDep, session: SessionDep, who: ApiEditor, body: PreviewBody) -> dict[str, Any]:
    key = key_or_404(body.situation, body.stage, body.channel, body.locale)
    try:
        rendered = render_with(session, rt, key, body.parts, body.context)
    except BadContext as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    return {**rendered.preview.as_dict(), "context": rendered.sample, "sent": rendered.sent}


@router.get("/versions/{a}/diff/{b}", responses=problems(404))
def diff_versions(session: SessionDep, who: ApiViewer, a: RowId, b: RowId) -> dict[str, Any]:
    left, right = _version(session, a), _version(session, b)
    return {
        "a": versions.describe(left, with_parts=False),
        "b": versions.describe(right, with_parts=False),
        "parts": versions.diff(left, right),
    }


@router.get("/{situation}/{stage}/{channel}/{locale}", responses=problems(404))
def get_template(
    session: SessionDep, who: ApiViewer, situation: Word, stage: Word, channel: Word, locale: Word
) -> dict[str, Any]:
    key = key_or_404(situation, stage, channel, locale)
    history = versions.history(session, key)
    published = next((v for v in history if v.status == "published"), None)
    return {
        "situation": key.situation,
        "stage": key.stage,
        "channel": key.channel,
        "locale": key.locale,
        "published": versions.describe(published) if published else None,
        "history": [versions.describe(v, with_parts=False) for v in history],
    }


@router.post(
    "/{situation}/{stage}/{channel}/{locale}/drafts", status_code=201, response_model=None, responses=problems(404)
)
def save_draft(
    rt: RuntimeDep, who: ApiEditor, situation: Word, stage: Word, channel: Word, locale: Word, body: DraftBody
) -> dict[str, Any] | JSONResponse:
    key = key_or_404(situation, stage, channel, locale)
    with rt.unit_of_work() as session:
        saved = versions.save_draft(
            session, key, body.parts(), author=who.actor, at=rt.clock.now(), note=body.note, address=who.address
        )
    if saved.version is None:
        return problem(
            status.HTTP_400_BAD_REQUEST, "the draft does not render", errors=[problem_dict(p) for p in saved.errors]
        )
    return {
        "version_id": saved.version.id,
        "number": saved.version.number,
        "findings": saved.version.findings,
        "errors": [],
    }


def _version(session: SessionDep, version_id: int) -> TemplateVersion:
    try:
        return versions.get_version(session, version_id)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


def _decide(rt: Runtime, action: str, version_id: int, who: ApiApprover) -> dict[str, Any]:
    try:
        version = versions.decide_now(rt, action, version_id, who)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except versions.NeedsAnotherApprover as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except VersionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return versions.describe(version, with_parts=False)


@router.post("/versions/{version_id}/publish", responses=problems(404, 409))
def publish(rt: RuntimeDep, who: ApiApprover, version_id: RowId) -> dict[str, Any]:
    return _decide(rt, "publish", version_id, who)


@router.post("/versions/{version_id}/approve", responses=problems(404, 409))
def approve(rt: RuntimeDep, who: ApiApprover, version_id: RowId) -> dict[str, Any]:
    return _decide(rt, "approve", version_id, who)


@router.post("/versions/{version_id}/rollback", responses=problems(404, 409))
def rollback(rt: RuntimeDep, who: ApiApprover, version_id: RowId) -> dict[str, Any]:
    """Publish this older version's words again, as a new version (a draft for another approver when
    FOREWARN_TEMPLATE_APPROVAL=1)."""
    return _decide(rt, "rollback", version_id, who)
