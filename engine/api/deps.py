"""Request dependencies: the runtime, a database session, and the API bearer token (any role)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from engine.runtime import Runtime
from engine.vocabulary import StaffRole


def get_runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(rt: RuntimeDep) -> Iterator[Session]:
    with Session(rt.db) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def require_api_token(request: Request, rt: RuntimeDep) -> None:
    """Any valid bearer token (the admin machine token or a staff member's personal one): the viewer role.

    Kept for routers that declare it; new routes name their role with `engine.api.access.api_role`.
    """
    from engine.api.access import api_role  # access builds on this module's dependencies

    api_role(StaffRole.VIEWER)(request, rt)


require_api_token.forewarn_access = StaffRole.VIEWER  # type: ignore[attr-defined]
