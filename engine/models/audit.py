"""The audit log: append-only entries, each holding the hash of the one before it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from engine.db import JSONType, UTCDateTime


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entries"

    seq: int = Field(primary_key=True)  # assigned by the log, gap-free: 1, 2, 3, …
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=200, index=True)  # "system", "webhook:shopify", "staff:ana@example.com"
    action: str = Field(max_length=64, index=True)
    subject: str = Field(max_length=200, index=True)  # "notice:12", "order:A1001"
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)

    def chained(self) -> dict[str, Any]:
        """What its hash covers, by name: its seq, time, actor, action, subject, details and prev_hash."""
        return {name: getattr(self, name) for name in _CHAINED}


_CHAINED = ("seq", "at", "actor", "action", "subject", "details", "prev_hash")


class AuditPersonal(SQLModel, table=True):
    """The personal part of an audit entry (a customer's reply, …), kept beside the chain so it can be
    erased: the entry's chained details hold only a digest of it (`engine.audit.personal`)."""

    __tablename__ = "audit_personal"

    seq: int = Field(primary_key=True)  # the entry's seq
    customer_id: str = Field(max_length=128, index=True)
    salt: str = Field(max_length=32)  # hex; erased with the data, so the digest left behind reveals nothing
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
