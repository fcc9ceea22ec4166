"""Customers: who we may tell, how, in which language and time zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from engine.db import JSONType, UTCDateTime


class Customer(SQLModel, table=True):
    __tablename__ = "customers"

    id: str = Field(primary_key=True, max_length=128)
    name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=320, index=True)  # staff find notices by it
    phone: str | None = Field(default=None, max_length=32, index=True)
    locale: str = Field(default="en", max_length=16)
    timezone: str = Field(default="UTC", max_length=64)
    # Channels the customer consented to; proactive notices never use any other.
    channels: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    components: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    quiet_hours: str | None = Field(default=None, max_length=16)
    email_opted_out: bool = Field(default=False)  # one-click unsubscribe; a STOP is per number (suppressions)
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    # occurred_at of the newest upsert applied, so an older one never overwrites it.
    state_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def first_name(self) -> str:
        return first_name_of(self.name)


def first_name_of(name: str) -> str:
    """How messages greet someone: the first word of their name ("" when there is none)."""
    return name.split()[0] if name.strip() else ""


class Recipient(Protocol):
    """A customer as deciding and wording a notice read them: a `Customer` row, or a fan-out's lighter
    `Subscriber` (engine/state/subscriptions.py)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def first_name(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def locale(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def channels(self) -> list[str]: ...
    @property
    def quiet_hours(self) -> str | None: ...
    @property
    def email_opted_out(self) -> bool: ...
