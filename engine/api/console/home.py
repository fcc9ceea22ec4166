"""The console's front door: `/` → `/ops/`, the dashboard, and the vendored static assets."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import Session

from engine.api.access import Viewer, public_page
from engine.api.console.layout import render
from engine.api.deps import RuntimeDep
from engine.console.pages import STATIC
from engine.read.dashboard import dashboard as read_dashboard
from engine.vocabulary import Channel

router = APIRouter(tags=["console"])
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# Only the files that ship in engine/console/static, looked up by exact name: no path from the URL reaches the disk.
_ASSETS = {path.name: path for path in STATIC.iterdir() if path.suffix in _TYPES}


@router.get("/", include_in_schema=False, dependencies=[Depends(public_page)])
def root() -> RedirectResponse:
    return RedirectResponse("/ops/", status_code=307)


@router.get("/ops", include_in_schema=False, dependencies=[Depends(public_page)])
def ops_root() -> RedirectResponse:
    return RedirectResponse("/ops/", status_code=307)


@router.get("/ops/", response_class=HTMLResponse)
def dashboard(request: Request, rt: RuntimeDep, who: Viewer) -> Response:
    """The numbers of `/api/dashboard` (engine.read.dashboard), counted in UTC days, the console's one zone."""
    with Session(rt.db) as session:
        numbers = read_dashboard(session, now=rt.clock.now(), zone=ZoneInfo("UTC"))
    today, week = numbers["notices"]["today"], numbers["notices"]["week"]
    return render(
        request,
        "dashboard.html",
        title="Dashboard",
        principal=who,
        section="/ops/",
        d=numbers,
        # Drawn by engine.read.chart from counts and fixed labels, every text in it escaped there.
        chart=Markup(numbers["chart_svg"]),  # noqa: S704
        situations=sorted(set(week["by_situation"]) | set(today["by_situation"])),
        channels=[str(channel) for channel in Channel],
    )


@router.get("/ops/static/{name}", include_in_schema=False, dependencies=[Depends(public_page)])
def static_asset(name: str) -> FileResponse:
    path = _ASSETS.get(name)
    if path is None:
        raise HTTPException(404, "no such asset")
    return FileResponse(
        path,
        media_type=_TYPES[path.suffix],
        headers={"Cache-Control": "public, max-age=3600"},
    )
