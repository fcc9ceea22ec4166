"""Personal API tokens: a staff member's bearer token for `/api`, acting with that member's role.

The token is shown once when created; only its SHA-256 is stored, with a short prefix to tell tokens
apart. A token stops working when revoked or when its owner is disabled.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from engine import audit
from engine.models import StaffToken, StaffUser
from engine.staff.accounts import StaffError, actor_of

TOKEN_PREFIX = "fwt_"  # noqa: S105 - a marker, not a secret


@dataclass(frozen=True)
class NewToken:
    token: StaffToken
    secret: str  # the bearer value; shown once, never stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, user: StaffUser, *, name: str, at: datetime, address: str | None = None) -> NewToken:
    name = name.strip()[:100] or "API token"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = StaffToken(user_id=user.id or 0, name=name, token_hash=_digest(secret), prefix=secret[:12], created_at=at)
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor_of(user),
        "staff.token_created",
        f"token:{token.id}",
        at=at,
        address=address,
        name=name,
        prefix=token.prefix,
        role=user.role,
    )
    return NewToken(token, secret)


def revoke_token(
    session: Session, user: StaffUser, token_id: int, *, at: datetime, address: str | None = None, admin: bool = False
) -> StaffToken:
    """Revoke one of the user's tokens (an admin may revoke anyone's). Raises StaffError if there is none."""
    token = session.get(StaffToken, token_id)
    if token is None or token.revoked_at is not None or (token.user_id != user.id and not admin):
        raise StaffError(f"no live token {token_id}")
    token.revoked_at = at
    session.add(token)
    audit.record(
        session,
        actor_of(user),
        "staff.token_revoked",
        f"token:{token.id}",
        at=at,
        address=address,
        name=token.name,
        prefix=token.prefix,
    )
    return token


def tokens_of(session: Session, user: StaffUser) -> list[StaffToken]:
    return list(
        session.exec(select(StaffToken).where(StaffToken.user_id == user.id).order_by(col(StaffToken.id).desc())).all()
    )


def owner_of(session: Session, secret: str, *, at: datetime) -> StaffUser | None:
    """The active staff member a live token belongs to (its last use noted), or None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = session.exec(select(StaffToken).where(StaffToken.token_hash == _digest(secret))).first()
    if token is None or token.revoked_at is not None:
        return None
    user = session.get(StaffUser, token.user_id)
    if user is None or not user.active:
        return None
    token.last_used_at = at
    session.add(token)
    return user
