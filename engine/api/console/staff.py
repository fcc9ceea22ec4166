"""Staff pages: the team (admins add and disable accounts) and your own account (personal API tokens)."""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from engine.api.access import Admin, Viewer
from engine.api.console.layout import flash_from, render
from engine.api.deps import RuntimeDep
from engine.models import StaffUser
from engine.staff import accounts, tokens
from engine.staff.passwords import WeakPassword
from engine.vocabulary import StaffRole

router = APIRouter(tags=["console"])


def _team_page(
    request: Request, rt: RuntimeDep, who: Admin, *, error: str | None = None, status_code: int = 200
) -> Response:
    with rt.unit_of_work() as session:
        users = accounts.list_users(session)
    flash = flash_from(request, {"created": "Account created.", "disabled": "Account disabled; its sessions ended."})
    return render(
        request,
        "staff.html",
        title="Staff",
        principal=who,
        section="/ops/staff",
        flash=flash,
        users=users,
        roles=list(StaffRole),
        error=error,
        status_code=status_code,
    )


@router.get("/ops/staff", response_class=HTMLResponse)
def team(request: Request, rt: RuntimeDep, who: Admin) -> Response:
    return _team_page(request, rt, who)


@router.post("/ops/staff", response_class=HTMLResponse)
def add_member(
    request: Request,
    rt: RuntimeDep,
    who: Admin,
    email: Annotated[str, Form(max_length=320)],
    role: Annotated[StaffRole, Form()],
    password: Annotated[str, Form(max_length=1000)],
    name: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    try:
        with rt.unit_of_work() as session:
            accounts.create_user(
                session,
                email=email,
                role=role,
                password=password,
                name=name,
                phone=phone.strip() or None,
                actor=who.actor,
                at=rt.clock.now(),
                address=who.address,
            )
    except (accounts.StaffError, WeakPassword) as exc:
        return _team_page(request, rt, who, error=str(exc), status_code=400)
    return RedirectResponse("/ops/staff?done=created", status_code=303)


@router.post("/ops/staff/{user_id}/disable")
def disable_member(rt: RuntimeDep, who: Admin, user_id: int) -> Response:
    with rt.unit_of_work() as session:
        user = session.get(StaffUser, user_id)
        if user is not None:
            accounts.disable_user(session, user.email, actor=who.actor, at=rt.clock.now(), address=who.address)
    return RedirectResponse("/ops/staff?done=disabled", status_code=303)


def _account_page(request: Request, rt: RuntimeDep, who: Viewer, *, new_secret: str | None = None) -> Response:
    with rt.unit_of_work() as session:
        user = session.get(StaffUser, who.user_id)
        mine = tokens.tokens_of(session, user) if user else []
    flash = flash_from(request, {"revoked": "Token revoked: it no longer works."})
    return render(
        request,
        "account.html",
        title="Your account",
        principal=who,
        section="/ops/account",
        flash=flash,
        user=user,
        tokens=mine,
        new_secret=new_secret,
    )


@router.get("/ops/account", response_class=HTMLResponse)
def account(request: Request, rt: RuntimeDep, who: Viewer) -> Response:
    return _account_page(request, rt, who)


@router.post("/ops/account/tokens", response_class=HTMLResponse)
def add_token(
    request: Request, rt: RuntimeDep, who: Viewer, name: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    with rt.unit_of_work() as session:
        user = session.get(StaffUser, who.user_id)
        assert user is not None  # a live session's user
        created = tokens.create_token(session, user, name=name, at=rt.clock.now(), address=who.address)
    return _account_page(request, rt, who, new_secret=created.secret)


@router.post("/ops/account/tokens/{token_id}/revoke")
def revoke(rt: RuntimeDep, who: Viewer, token_id: int) -> Response:
    with rt.unit_of_work() as session:
        user = session.get(StaffUser, who.user_id)
        if user is not None:
            # Already revoked, or not theirs: nothing to do, the page shows what is live.
            with suppress(accounts.StaffError):
                tokens.revoke_token(session, user, token_id, at=rt.clock.now(), address=who.address)
    return RedirectResponse("/ops/account?done=revoked", status_code=303)
