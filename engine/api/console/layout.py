"""Rendering a console page in the layout, and what a refused request looks like."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from engine.api.access import CsrfRefused, RoleRequired, SignInRequired
from engine.api.security import csp_nonce
from engine.console.pages import nav_for, render_page
from engine.staff.accounts import Principal

LOGIN_PATH = "/ops/login"


def render(
    request: Request,
    name: str,
    *,
    title: str,
    principal: Principal | None,
    status_code: int = 200,
    section: str = "",
    flash: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render `engine/console/pages/<name>` in the layout: the page's <h1> and <title> are `title`;
    `section` is the nav link to mark as current; `flash` a one-line confirmation above the heading."""
    values: dict[str, Any] = {
        "title": title,
        "principal": principal,
        "nav": nav_for(principal.role) if principal else [],
        "csrf_token": principal.csrf_token if principal else None,
        "nonce": csp_nonce(request),
        "current_section": section,
        "flash": flash,
        **context,
    }
    return HTMLResponse(render_page(name, values), status_code=status_code)


def message_page(
    request: Request,
    *,
    title: str,
    message: str,
    principal: Principal | None,
    status_code: int,
    link: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(
        request, "message.html", title=title, principal=principal, status_code=status_code, message=message, link=link
    )


def flash_from(request: Request, messages: dict[str, str]) -> str | None:
    """The confirmation a redirect asked for with `?done=<key>` (only known keys: nothing echoes the URL)."""
    return messages.get(request.query_params.get("done", ""))


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _: SignInRequired) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": LOGIN_PATH})
        target = LOGIN_PATH
        if request.method == "GET" and request.url.path != "/ops/":
            target += "?next=" + quote(
                request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe=""
            )
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(RoleRequired)
    async def _role(request: Request, exc: RoleRequired) -> Response:
        return message_page(
            request,
            title="Not allowed",
            message=f"{exc} Ask an admin if you need it.",
            principal=exc.principal,
            status_code=403,
            link={"href": "/ops/", "label": "Back to the dashboard"},
        )

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _: CsrfRefused) -> Response:
        return message_page(
            request,
            title="Form expired",
            message="This form had no valid security token (it expired, or did not come from this console). "
            "Nothing was changed. Go back, reload the page and try again.",
            principal=None,
            status_code=403,
            link={"href": "/ops/", "label": "Back to the console"},
        )
