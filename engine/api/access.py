"""Who may call a route: every `/ops` page and every `/api` route declares the least role it needs.

- `page_role(role)`: a console page. The staff member's session cookie; anonymous → the sign-in page;
  a state-changing request (POST, PUT, PATCH, DELETE) must carry the session's CSRF token, as the form
  field `csrf_token` or the `X-CSRF-Token` header (htmx sends it from the layout's `hx-headers`).
- `api_role(role)`: a JSON route. `Authorization: Bearer` with the admin machine token
  (`FOREWARN_API_TOKEN`, acting as admin) or a staff member's personal token (acting with their role).
- `public_page`: a console route anyone may open (sign-in, static assets), declared as such.

Each returns a `Principal` and carries `ACCESS_ATTRIBUTE`, which `tests/engine/api/test_access.py`
looks for on every /ops and /api route: a route without a declared role fails the suite.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from engine.api.deps import RuntimeDep
from engine.runtime import Runtime
from engine.staff import tokens
from engine.staff.accounts import MACHINE_ACTOR, Principal, principal_of
from engine.staff.sessions import load_session
from engine.vocabulary import StaffRole

ACCESS_ATTRIBUTE = "forewarn_access"  # the role a dependency demands, or "public"
SESSION_COOKIE = "fw_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequired(Exception):
    """No live session: pages send the person to sign in (htmx gets a redirect header)."""


class RoleRequired(Exception):
    def __init__(self, needed: StaffRole, principal: Principal) -> None:
        super().__init__(f"this needs the {needed} role; you are signed in as {principal.role}")
        self.needed, self.principal = needed, principal


class CsrfRefused(Exception):
    """A state-changing console request without its session's CSRF token."""


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _session_principal(request: Request, rt: RuntimeDep) -> Principal:
    with rt.unit_of_work() as session:
        live = load_session(
            session, request.cookies.get(SESSION_COOKIE), secret_key=rt.settings.secret_key, now=rt.clock.now()
        )
        if live is None:
            raise SignInRequired()
        return principal_of(
            live.user, address=client_address(request), session_id=live.session_id, csrf_token=live.csrf_token
        )


SessionPrincipal = Annotated[Principal, Depends(_session_principal)]


async def check_csrf(request: Request, expected: str) -> None:
    """The token from the header or the form must match; compared in constant time."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # Starlette keeps the parsed form: the route reads the same one
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused()


@cache
def page_role(role: StaffRole) -> Callable[..., Awaitable[Principal]]:
    """The dependency for a console page that needs at least `role` (one function per role, so FastAPI
    resolves it once per request)."""

    async def dependency(request: Request, principal: SessionPrincipal) -> Principal:
        if not principal.can(role):
            raise RoleRequired(role, principal)
        if request.method not in _SAFE_METHODS:
            await check_csrf(request, principal.csrf_token or "")
        return principal

    setattr(dependency, ACCESS_ATTRIBUTE, role)
    dependency.__name__ = f"page_role_{role}"
    return dependency


def _bearer_principal(request: Request, rt: Runtime) -> Principal:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        machine = rt.settings.api_token
        if machine and hmac.compare_digest(token.encode(), machine.encode()):
            return Principal(actor=MACHINE_ACTOR, role=StaffRole.ADMIN, address=client_address(request))
        with rt.unit_of_work() as session:
            user = tokens.owner_of(session, token, at=rt.clock.now())
            if user is not None:
                return principal_of(user, address=client_address(request))
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "missing or wrong bearer token (FOREWARN_API_TOKEN, or a staff member's personal token)",
        headers={"WWW-Authenticate": "Bearer"},
    )


@cache
def api_role(role: StaffRole) -> Callable[..., Principal]:
    """The dependency for a JSON route that needs at least `role`."""

    def dependency(request: Request, rt: RuntimeDep) -> Principal:
        principal = _bearer_principal(request, rt)
        if not principal.can(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"this needs the {role} role; the token has {principal.role}"
            )
        return principal

    setattr(dependency, ACCESS_ATTRIBUTE, role)
    dependency.__name__ = f"api_role_{role}"
    return dependency


def public_page() -> None:
    """Declares a console route open to anyone (the sign-in page, static assets)."""


setattr(public_page, ACCESS_ATTRIBUTE, "public")

# The usual declarations, for `Annotated[Principal, ...]` parameters and router dependencies.
Viewer = Annotated[Principal, Depends(page_role(StaffRole.VIEWER))]
Editor = Annotated[Principal, Depends(page_role(StaffRole.EDITOR))]
Approver = Annotated[Principal, Depends(page_role(StaffRole.APPROVER))]
Admin = Annotated[Principal, Depends(page_role(StaffRole.ADMIN))]
ApiViewer = Annotated[Principal, Depends(api_role(StaffRole.VIEWER))]
ApiEditor = Annotated[Principal, Depends(api_role(StaffRole.EDITOR))]
ApiApprover = Annotated[Principal, Depends(api_role(StaffRole.APPROVER))]
ApiAdmin = Annotated[Principal, Depends(api_role(StaffRole.ADMIN))]
