"""Browser sessions for staff: a random token in a signed cookie, its hash in `staff_sessions`.

A session ends after 30 minutes without a request (idle) and 12 hours after sign-in (absolute), on the
engine's clock; signing in again ends every other session of the same person (one live session each).
The CSRF token is an HMAC of the session's token: forms and htmx requests carry it, nothing stores it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete

from engine.models import StaffSession, StaffUser

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
# A session's last-seen time is written at most this often: a page's assets and htmx calls add no writes.
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class LiveSession:
    session_id: str
    user: StaffUser
    csrf_token: str


def sign(secret_key: str, purpose: str, value: str) -> str:
    """A short HMAC-SHA256 of `value` for one purpose (a cookie, a CSRF token): never valid for another."""
    digest = hmac.new(secret_key.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def _session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(secret_key: str, token: str) -> str:
    return sign(secret_key, "csrf", token)


def start_session(session: Session, user: StaffUser, *, secret_key: str, at: datetime, address: str | None) -> str:
    """End the person's other sessions and open a new one; returns the cookie value."""
    session.exec(delete(StaffSession).where(col(StaffSession.user_id) == user.id))
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(id=_session_id(token), user_id=user.id or 0, created_at=at, last_seen_at=at, address=address)
    )
    return f"{token}.{sign(secret_key, 'session', token)}"


def _token_of(cookie: str, secret_key: str) -> str | None:
    token, _, signature = cookie.partition(".")
    if not token or not hmac.compare_digest(signature, sign(secret_key, "session", token)):
        return None
    return token


def load_session(session: Session, cookie: str | None, *, secret_key: str, now: datetime) -> LiveSession | None:
    """The live session the cookie names, touched; None (and the row gone) when expired or unknown."""
    token = _token_of(cookie, secret_key) if cookie else None
    if token is None:
        return None
    row = session.get(StaffSession, _session_id(token))
    if row is None:
        return None
    user = session.get(StaffUser, row.user_id)
    expired = now - row.last_seen_at > IDLE_TIMEOUT or now - row.created_at > ABSOLUTE_TIMEOUT
    if expired or user is None or not user.active:
        session.delete(row)
        return None
    if now - row.last_seen_at >= _TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
    return LiveSession(row.id, user, csrf_for(secret_key, token))


def end_session(session: Session, session_id: str) -> None:
    session.exec(delete(StaffSession).where(col(StaffSession.id) == session_id))
