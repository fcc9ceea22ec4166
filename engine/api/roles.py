"""The review routes' way of stating their role, on top of `engine.api.access`.

`requires(StaffRole.VIEWER)` on a route is `Depends(api_role(StaffRole.VIEWER))`: the admin machine
token or a staff member's personal token with at least that role. `current_staff` names who is asking,
for the audit entries a read can leave (a contact revealed, an export, a verification).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Query
from fastapi.params import Depends as DependsParam
from sqlmodel import Session

from engine.api.access import api_role
from engine.read.contacts import Viewer
from engine.runtime import Runtime
from engine.staff.accounts import Principal
from engine.vocabulary import StaffRole

Role = StaffRole


def requires(role: StaffRole) -> DependsParam:
    """A route dependency that admits bearer tokens with at least `role`."""
    dependency: DependsParam = Depends(api_role(role))
    return dependency


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
