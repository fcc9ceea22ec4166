"""Signing in: password (argon2), an optional TOTP code, and the lock after ten failures.

Whatever went wrong (unknown email, wrong password, wrong code, a locked or disabled account), the person
is told the same thing: which half was wrong would help someone guessing. The audit log records the real
reason for staff reviewing it. The caller commits, also on failure: the count of failures must stick.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlmodel import Session

from engine import audit
from engine.config import Settings
from engine.models import StaffUser
from engine.staff.accounts import actor_of, find_user
from engine.staff.passwords import hash_password, needs_rehash, verify_password
from engine.vocabulary import StaffRole

MAX_FAILURES = 10
LOCK_FOR = timedelta(minutes=15)
FAILED = (
    "Those sign-in details did not work. Check your email, password and code "
    "(an account is locked for 15 minutes after 10 failed attempts)."
)
NEEDS_SECOND_FACTOR = (
    "Your role needs a second factor (an authenticator app) to sign in. "
    "Ask an admin to run `forewarn users totp --email <you>` and add the code it shows to your app."
)


@dataclass(frozen=True)
class SignIn:
    user: StaffUser | None  # set when signed in
    error: str | None = None


def second_factor_required(settings: Settings, user: StaffUser) -> bool:
    return user.totp_secret is not None or (settings.staff_2fa and user.role.at_least(StaffRole.APPROVER))


def sign_in(
    session: Session,
    *,
    email: str,
    password: str,
    code: str,
    settings: Settings,
    at: datetime,
    address: str | None,
) -> SignIn:
    user = find_user(session, email)
    if user is None or not user.active:
        verify_password(None, password)  # the same work as for a real account: timing tells nothing
        reason = "unknown email" if user is None else "account disabled"
        _audit_failure(session, email.strip().lower()[:320], reason, at=at, address=address)
        return SignIn(None, FAILED)
    if user.locked_until is not None and at < user.locked_until:
        verify_password(None, password)
        _audit_failure(session, user.email, "account locked", at=at, address=address, user=user)
        return SignIn(None, FAILED)
    failure = _check(user, password, code, at=at)
    if failure is None and settings.staff_2fa and user.role.at_least(StaffRole.APPROVER) and not user.totp_secret:
        _audit_failure(session, user.email, "second factor not set up", at=at, address=address, user=user)
        return SignIn(None, NEEDS_SECOND_FACTOR)
    if failure is not None:
        _count_failure(session, user, failure, at=at, address=address)
        return SignIn(None, FAILED)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, at
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.add(user)
    audit.record(session, actor_of(user), "staff.login", f"staff:{user.id}", at=at, address=address)
    return SignIn(user)


def _check(user: StaffUser, password: str, code: str, *, at: datetime) -> str | None:
    """Why these credentials fail, or None. The code is checked only after a right password."""
    if not verify_password(user.password_hash, password):
        return "wrong password"
    if user.totp_secret:
        digits = "".join(ch for ch in code if ch.isdigit())
        if not digits or not pyotp.TOTP(user.totp_secret).verify(digits, for_time=at, valid_window=1):
            return "wrong second-factor code"
    return None


def _count_failure(session: Session, user: StaffUser, reason: str, *, at: datetime, address: str | None) -> None:
    user.failed_logins += 1
    _audit_failure(session, user.email, reason, at=at, address=address, user=user)
    if user.failed_logins >= MAX_FAILURES:
        user.failed_logins, user.locked_until = 0, at + LOCK_FOR
        audit.record(
            session,
            actor_of(user),
            "staff.locked",
            f"staff:{user.id}",
            at=at,
            address=address,
            until=user.locked_until,
            failures=MAX_FAILURES,
        )
    session.add(user)


def _audit_failure(
    session: Session, email: str, reason: str, *, at: datetime, address: str | None, user: StaffUser | None = None
) -> None:
    audit.record(
        session,
        f"staff:{email}" if user is not None else "anonymous",
        "staff.login_failed",
        f"staff:{user.id}" if user is not None else "staff:unknown",
        at=at,
        address=address,
        reason=reason,
        **({} if user is not None else {"email": email}),
    )
