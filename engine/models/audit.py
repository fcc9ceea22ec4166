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
