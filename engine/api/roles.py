"""The one place an /api route states the role it needs, and who is asking.

`requires(Role.VIEWER)` on a route is that statement. Until staff logins exist, every role is granted
to the holder of the admin machine token (`FOREWARN_API_TOKEN`, `engine.api.deps.require_api_token`),
and the reader is recorded as "staff:api". When staff accounts land, `requires` checks the caller's
role instead and `current_viewer` names them: the routes stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute, APIRouter
from sqlmodel import Session
from starlette.routing import BaseRoute

from engine.api.deps import RuntimeDep, require_api_token
from engine.read.contacts import Viewer
from engine.runtime import Runtime


class Role(StrEnum):
    """Each role can do everything the one before it can."""

    VIEWER = "viewer"  # reads everything; contact details masked unless asked for (audited)
    EDITOR = "editor"  # also drafts, previews and tests templates
    APPROVER = "approver"  # also publishes, decides fan-outs, pauses sending
    ADMIN = "admin"  # also manages staff


ROLE_ATTRIBUTE = "forewarn_role"
STAFF_ACTOR = "staff:api"  # who the machine token's holder is in the audit log


def requires(role: Role) -> DependsParam:
    """A route dependency that admits callers with `role` (today: the admin machine token)."""

    def guard(request: Request, rt: RuntimeDep) -> None:
        require_api_token(request, rt)

    setattr(guard, ROLE_ATTRIBUTE, role)
    guard.__name__ = f"requires_{role}"
    dependency: DependsParam = Depends(guard)
    return dependency


def required_role(route: APIRoute, router_dependencies: Sequence[Any] = ()) -> Role | None:
    """The role a route states through `requires` (on itself or on its router), if it states one."""
    for dependency in [*route.dependencies, *router_dependencies]:
        role = getattr(getattr(dependency, "dependency", None), ROLE_ATTRIBUTE, None)
        if isinstance(role, Role):
            return role
    return None


def stated_roles(
    routes: Sequence[BaseRoute], router_dependencies: Sequence[Any] = ()
) -> dict[tuple[str, str], Role | None]:
    """(method, path) → the role each route states, walking included routers (for tests and docs)."""
    found: dict[tuple[str, str], Role | None] = {}
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI keeps an included router whole
        if isinstance(included, APIRouter):
            found.update(stated_roles(included.routes, [*router_dependencies, *included.dependencies]))
        elif isinstance(route, APIRoute):
            role = required_role(route, router_dependencies)
            found.update({(method, route.path): role for method in route.methods or ()})
    return found


def current_staff(request: Request) -> Viewer:
    """Who is asking (the audit actor) and from which network address."""
    address = request.client.host if request.client else None
    return Viewer(actor=STAFF_ACTOR, address=address)


def current_viewer(
    staff: Annotated[Viewer, Depends(current_staff)],
    reveal: Annotated[bool, Query(description="show contact details unmasked (audited)")] = False,
) -> Viewer:
    """The reader of a page with contact details, and whether they asked to see them (`?reveal=1`, which
    the services audit)."""
    return replace(staff, reveal=reveal)


StaffDep = Annotated[Viewer, Depends(current_staff)]
ViewerDep = Annotated[Viewer, Depends(current_viewer)]


@contextmanager
def reading(rt: Runtime, viewer: Viewer) -> Iterator[Session]:
    """A session for a page: read-only, or a unit of work when reading it is audited (a reveal)."""
    if viewer.reveal:
        with rt.unit_of_work() as session:
            yield session
        return
    with Session(rt.db) as session:
        yield session
