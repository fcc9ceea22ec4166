"""What the engine does for a customer beyond words: a person's follow-up (a care task) and a remedy code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.db import UTCDateTime


class CareTask(SQLModel, table=True):
    """A matter staff (or their helpdesk) must follow up: opened by the engine, closed when it resolves."""

    __tablename__ = "care_tasks"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(foreign_key="customers.id", index=True, max_length=128)
    situation_id: int = Field(foreign_key="situations.id", index=True)
    subject_key: str = Field(max_length=200)
    order_id: str | None = Field(default=None, max_length=128)
    reason: str = Field(max_length=64)  # stalled, lost, damaged, repeat (a third problem within 30 days)
    status: str = Field(default="open", max_length=16, index=True)  # open, closed
    opened_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RemedyCode(SQLModel, table=True):
    """One code of the pool staff load; claimed once, for one customer's situation, never twice."""

    __tablename__ = "remedy_codes"
    __table_args__ = (UniqueConstraint("code", name="uq_remedy_codes_code"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64)
    description: str = Field(default="", max_length=200)  # "10% off your next order"; empty: the setting's
    loaded_at: datetime = Field(sa_type=UTCDateTime)
    customer_id: str | None = Field(default=None, max_length=128, index=True)
    situation_id: int | None = Field(default=None, index=True)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
