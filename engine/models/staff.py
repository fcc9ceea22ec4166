"""Operations staff: accounts and roles, their signed-in sessions, and their personal API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from engine.db import UTCDateTime, Vocabulary
from engine.vocabulary import StaffRole


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)  # stored lower-cased: the sign-in name
    name: str = Field(default="", max_length=200)
    role: StaffRole = Field(default=StaffRole.VIEWER, sa_type=Vocabulary(StaffRole, 32))
    password_hash: str | None = Field(default=None, max_length=300)  # argon2id, with its parameters
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    phone: str | None = Field(default=None, max_length=32)  # where "send a test to me" texts go
    totp_secret: str | None = Field(default=None, max_length=64)  # base32; set = a second factor is required
    failed_logins: int = Field(default=0)  # consecutive, since the last success or lock
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StaffSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored here."""

    __tablename__ = "staff_sessions"

    id: str = Field(primary_key=True, max_length=64)  # sha256 hex of the cookie's token
    user_id: int = Field(foreign_key="staff_users.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)  # the absolute expiry counts from here
    last_seen_at: datetime = Field(sa_type=UTCDateTime)  # the idle expiry counts from here
    address: str | None = Field(default=None, max_length=64)


class StaffToken(SQLModel, table=True):
    """A personal API token: it acts with its owner's role, and only its SHA-256 is stored."""

    __tablename__ = "staff_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="staff_users.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)  # the first characters, so staff can tell their tokens apart
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
