"""Rows a step could not process, put aside with the reason so that they stop nobody else."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.db import UTCDateTime, Vocabulary
from engine.vocabulary import PoisonKind, Step


class Quarantined(SQLModel, table=True):
    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("kind", "ref", "step", name="uq_quarantine_kind_ref_step"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: PoisonKind = Field(sa_type=Vocabulary(PoisonKind, 16))
    ref: str = Field(max_length=200)  # the row's id: an order id, an event's or a notice's number
    step: Step = Field(sa_type=Vocabulary(Step, 16))
    error: str = Field(max_length=200)  # the exception's kind, e.g. "DataError", "TemplateError"
    reason: str = Field(sa_type=Text)  # what it said (the database's first line; addresses masked)
    failures: int = Field(default=1)
    first_at: datetime = Field(sa_type=UTCDateTime)
    last_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # When the step will try the row again (None: never on its own; it was set aside for good).
    retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cleared_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # it went through since
