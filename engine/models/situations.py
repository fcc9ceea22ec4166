"""Situations: what the customer experiences ("my order is late"), one per customer, subject and kind."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.db import JSONType, UTCDateTime, Vocabulary
from engine.vocabulary import SituationKind, SituationStatus


class Situation(SQLModel, table=True):
    __tablename__ = "situations"
    __table_args__ = (
        UniqueConstraint("customer_id", "subject_key", "kind", name="uq_situations_customer_subject_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(foreign_key="customers.id", index=True, max_length=128)
    kind: SituationKind = Field(sa_type=Vocabulary(SituationKind, 64), index=True)
    # "order:<id>" or "incident:<id>": the thread a customer hears about.
    subject_key: str = Field(max_length=200, index=True)
    order_id: str | None = Field(default=None, max_length=128, index=True)
    incident_id: str | None = Field(default=None, max_length=128, index=True)
    status: SituationStatus = Field(default=SituationStatus.OPEN, sa_type=Vocabulary(SituationStatus, 16), index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    opened_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The promise outstanding on the customer's thread ("we'll write again by …"): the scheduler sends a
    # check-in when it comes with nothing newer sent (engine/promises/keep.py); None once resolved.
    next_update_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
