"""Signing in and out of the console."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from engine import audit
from engine.api.access import SESSION_COOKIE, Viewer, client_address, public_page
from engine.api.console.layout import LOGIN_PATH, flash_from, render
from engine.api.deps import RuntimeDep
from engine.staff.sessions import ABSOLUTE_TIMEOUT, end_session, sign, start_session
from engine.staff.signin import sign_in

router = APIRouter(tags=["console"])
LOGIN_COOKIE = "fw_login"  # a random value the sign-in form's CSRF token is bound to


def _safe_next(value: str) -> str:
    """Only a path inside the console: never another site (`//evil`, `https://…`)."""
    if value.startswith("/ops") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ops/"


def _login_form(request: Request, rt: RuntimeDep, *, error: str | None, email: str, next_path: str) -> Response:
    seed = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    flash = flash_from(request, {"signed-out": "You are signed out."})
    response = render(
        request,
        "login.html",
        title="Sign in",
        principal=None,
        status_code=200,
        flash=flash,
        error=error,
        email=email,
        next_path=_safe_next(next_path),
        login_csrf=sign(rt.settings.secret_key, "login", seed),
    )
    response.set_cookie(
        LOGIN_COOKIE, seed, httponly=True, samesite="strict", secure=request.url.scheme == "https", path=LOGIN_PATH
    )
    return response


@router.get(LOGIN_PATH, response_class=HTMLResponse, dependencies=[Depends(public_page)])
def login_page(request: Request, rt: RuntimeDep, next: str = "/ops/") -> Response:
    return _login_form(request, rt, error=None, email="", next_path=next)


@router.post(LOGIN_PATH, response_class=HTMLResponse, dependencies=[Depends(public_page)])
def login(
    request: Request,
    rt: RuntimeDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/ops/",
) -> Response:
    seed = request.cookies.get(LOGIN_COOKIE, "")
    expected = sign(rt.settings.secret_key, "login", seed) if seed else ""
    if not expected or not hmac.compare_digest(csrf_token.encode(), expected.encode()):
        return _login_form(
            request, rt, error="The sign-in form expired. Please try again.", email=email, next_path=next
        )
    address = client_address(request)
    with rt.unit_of_work() as session:
        result = sign_in(
            session, email=email, password=password, code=code, settings=rt.settings, at=rt.clock.now(), address=address
        )
        cookie = None
        if result.user is not None:
            cookie = start_session(
                session, result.user, secret_key=rt.settings.secret_key, at=rt.clock.now(), address=address
            )
    if cookie is None:
        return _login_form(request, rt, error=result.error, email=email, next_path=next)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
        max_age=int(ABSOLUTE_TIMEOUT.total_seconds()),
    )
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH)
    return response


@router.post("/ops/logout")
def logout(request: Request, rt: RuntimeDep, who: Viewer) -> Response:
    with rt.unit_of_work() as session:
        end_session(session, who.session_id or "")
        audit.append(
            session,
            at=rt.clock.now(),
            actor=who.actor,
            action="staff.logout",
            subject=f"staff:{who.user_id}",
            details={"address": who.address},
        )
    response = RedirectResponse(f"{LOGIN_PATH}?done=signed-out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
