"""Staff accounts: create, list, disable, set a password or a second factor. Audited; the caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlmodel import Session, col, delete, select

from engine import audit
from engine.models import StaffSession, StaffUser
from engine.staff.passwords import check_strength, hash_password
from engine.vocabulary import StaffRole

MACHINE_ACTOR = "staff:api"  # the admin machine token (FOREWARN_API_TOKEN)


@dataclass(frozen=True)
class Principal:
    """Who is acting: a signed-in staff member, one of their API tokens, or the admin machine token."""

    actor: str  # what the audit log records: "staff:<email>", or "staff:api"
    role: StaffRole
    user_id: int | None = None
    email: str | None = None
    name: str = ""
    address: str | None = None  # where the request came from, for the audit log
    session_id: str | None = None  # set for a browser session (its CSRF token derives from it)
    csrf_token: str | None = None

    def can(self, role: StaffRole) -> bool:
        return self.role.at_least(role)


class StaffError(ValueError):
    """A staff operation refused, in words to show the person who asked."""


def actor_of(user: StaffUser) -> str:
    return f"staff:{user.email}"


def principal_of(
    user: StaffUser, *, address: str | None, session_id: str | None = None, csrf_token: str | None = None
) -> Principal:
    """A staff member acting, from a browser session (with its CSRF token) or a personal API token."""
    return Principal(
        actor=actor_of(user),
        role=user.role,
        user_id=user.id,
        email=user.email,
        name=user.name,
        address=address,
        session_id=session_id,
        csrf_token=csrf_token,
    )


def normalize_email(email: str) -> str:
    cleaned = email.strip().lower()
    if "@" not in cleaned or len(cleaned) > 320 or any(ch.isspace() for ch in cleaned):
        raise StaffError(f"not an email address: {email!r}")
    return cleaned


def find_user(session: Session, email: str) -> StaffUser | None:
    return session.exec(select(StaffUser).where(StaffUser.email == email.strip().lower())).first()


def list_users(session: Session) -> list[StaffUser]:
    return list(session.exec(select(StaffUser).order_by(col(StaffUser.email))).all())


def any_admin(session: Session) -> bool:
    found = session.exec(
        select(StaffUser.id).where(StaffUser.role == StaffRole.ADMIN, col(StaffUser.active).is_(True)).limit(1)
    ).first()
    return found is not None


def create_user(
    session: Session,
    *,
    email: str,
    role: StaffRole,
    password: str,
    name: str = "",
    phone: str | None = None,
    actor: str,
    at: datetime,
    address: str | None = None,
) -> StaffUser:
    """A new active account. Raises StaffError (taken email) or WeakPassword."""
    email = normalize_email(email)
    if find_user(session, email) is not None:
        raise StaffError(f"there is already a staff account for {email}")
    check_strength(password, email=email, name=name)
    user = StaffUser(
        email=email,
        name=name.strip(),
        role=role,
        password_hash=hash_password(password),
        phone=phone,
        created_at=at,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "staff.created", f"staff:{user.id}", at=at, address=address, email=email, role=role)
    return user


def disable_user(session: Session, email: str, *, actor: str, at: datetime, address: str | None = None) -> StaffUser:
    """Disable the account and end its sessions at once. Raises StaffError when there is no such account."""
    user = find_user(session, email)
    if user is None:
        raise StaffError(f"no staff account for {email.strip().lower()}")
    user.active = False
    session.add(user)
    session.exec(delete(StaffSession).where(col(StaffSession.user_id) == user.id))
    audit.record(session, actor, "staff.disabled", f"staff:{user.id}", at=at, address=address, email=user.email)
    return user


def enable_totp(session: Session, user: StaffUser, *, actor: str, at: datetime, address: str | None = None) -> str:
    """Give the account a new TOTP secret (sign-in asks for its code from now on); returns the secret."""
    secret = pyotp.random_base32()
    user.totp_secret = secret
    session.add(user)
    audit.record(session, actor, "staff.totp_enabled", f"staff:{user.id}", at=at, address=address, email=user.email)
    return secret


def totp_uri(user: StaffUser, secret: str, issuer: str) -> str:
    """The otpauth:// link an authenticator app reads (as a QR code or pasted)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)
