"""Request dependencies: the runtime, a database session, and the API bearer token."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlmodel import Session

from engine.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(rt: RuntimeDep) -> Iterator[Session]:
    with Session(rt.db) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def require_api_token(request: Request, rt: RuntimeDep) -> None:
    expected = rt.settings.api_token
    if not expected:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "the API needs FOREWARN_API_TOKEN (staff logins come later)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
