"""Operations staff who tune messages and review the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from engine.db import UTCDateTime


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    name: str = Field(default="", max_length=200)
    role: str = Field(default="editor", max_length=32)  # admin | editor | viewer
    password_hash: str | None = Field(default=None, max_length=300)
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
