"""Personal API tokens as JSON (`/api/staff/tokens`): the same actions as the account page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from engine.api.access import ApiViewer
from engine.api.deps import RuntimeDep
from engine.api.params import RowId
from engine.api.problems import problems
from engine.clock import format_instant
from engine.models import StaffToken, StaffUser
from engine.staff import tokens
from engine.staff.accounts import StaffError

router = APIRouter(prefix="/api/staff", tags=["staff"], responses=problems(400, 401, 403))


class NewTokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)


def _describe(token: StaffToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": format_instant(token.created_at),
        "last_used_at": format_instant(token.last_used_at) if token.last_used_at else None,
        "revoked_at": format_instant(token.revoked_at) if token.revoked_at else None,
    }


def _owner(session: Any, user_id: int | None) -> StaffUser:
    user = session.get(StaffUser, user_id) if user_id is not None else None
    if user is None:
        # The machine token is nobody's: it may not mint tokens (403, like any action its holder may not take).
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "the admin machine token has no personal tokens; use a staff member's token"
        )
    return user  # type: ignore[no-any-return]


@router.get("/tokens")
def list_tokens(rt: RuntimeDep, who: ApiViewer) -> dict[str, Any]:
    with rt.unit_of_work() as session:
        items = [_describe(t) for t in tokens.tokens_of(session, _owner(session, who.user_id))]
    return {"items": items}


@router.post("/tokens", status_code=201)
def create_token(rt: RuntimeDep, who: ApiViewer, body: NewTokenRequest) -> dict[str, Any]:
    """A new token with your role; `token` is shown in this answer only."""
    with rt.unit_of_work() as session:
        created = tokens.create_token(
            session, _owner(session, who.user_id), name=body.name, at=rt.clock.now(), address=who.address
        )
    return {**_describe(created.token), "token": created.secret}


@router.delete("/tokens/{token_id}", responses=problems(404))
def revoke_token(rt: RuntimeDep, who: ApiViewer, token_id: RowId) -> dict[str, Any]:
    try:
        with rt.unit_of_work() as session:
            token = tokens.revoke_token(
                session, _owner(session, who.user_id), token_id, at=rt.clock.now(), address=who.address
            )
    except StaffError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return _describe(token)
