"""The review routes' way of stating their role, on top of `engine.api.access`.

`requires(StaffRole.VIEWER)` on a route is `Depends(api_role(StaffRole.VIEWER))`: the admin machine
token or a staff member's personal token with at least that role; `viewer_router` states it once for
a router whose routes all read. `current_staff` names who is asking, for the audit entries a read can
leave (a contact revealed, an export, a verification); `read_one` reads a record for them or 404s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.params import Depends as DependsParam
from sqlmodel import Session

from engine.api.access import api_role
from engine.api.problems import problems
from engine.read.contacts import Viewer
from engine.runtime import Runtime
from engine.staff.accounts import Principal
from engine.vocabulary import StaffRole

Role = StaffRole
T = TypeVar("T")


def requires(role: StaffRole) -> DependsParam:
    """A route dependency that admits bearer tokens with at least `role`."""
    dependency: DependsParam = Depends(api_role(role))
    return dependency


def viewer_router(tag: str) -> APIRouter:
    """An /api router for reading: every route on it needs at least a viewer's token (stated once, here,
    rather than on each route) and may answer 400, 401 or 403."""
    return APIRouter(prefix="/api", tags=[tag], dependencies=[requires(Role.VIEWER)], responses=problems(400, 401, 403))


def found(value: T | None, what: str) -> T:
    """What a route was asked for, or a 404 naming it ("no notice 12")."""
    if value is None:
        raise HTTPException(404, f"no {what}")
    return value


def current_staff(principal: Annotated[Principal, Depends(api_role(StaffRole.VIEWER))]) -> Viewer:
    """Who is asking (the audit actor) and from which network address."""
    return Viewer(actor=principal.actor, address=principal.address)


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


def read_one(rt: Runtime, viewer: Viewer, read: Callable[[Session], T | None], what: str) -> T:
    """One thing read for `viewer` (audited when they asked to see contact details), or a 404 naming it.

    The reveal's unit of work is committed before the 404 is raised, as reading it was."""
    with reading(rt, viewer) as session:
        value = read(session)
    return found(value, what)
