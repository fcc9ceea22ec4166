"""Message templates staff edit, as versions (Knock/Courier style).

One row is one version of the words for a (situation, stage, channel, locale): every part the channel
needs (email: subject, text, html; SMS: sms). A version is saved as a draft, published (then it is what
renders), and superseded by the next publish; it never changes after it is saved. Rolling back publishes
a copy of an older version as a new version, so history only grows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.db import JSONType, UTCDateTime, Vocabulary
from engine.vocabulary import Channel, SituationKind, Stage, VersionStatus


class TemplateVersion(SQLModel, table=True):
    __tablename__ = "message_versions"
    __table_args__ = (
        UniqueConstraint("situation", "stage", "channel", "locale", "number", name="uq_message_versions_number"),
        Index("ix_message_versions_key", "situation", "stage", "channel", "locale", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    situation: SituationKind = Field(sa_type=Vocabulary(SituationKind, 64))
    stage: Stage = Field(sa_type=Vocabulary(Stage, 16))
    channel: Channel = Field(sa_type=Vocabulary(Channel, 16))
    locale: str = Field(default="en", max_length=16)
    number: int  # 1, 2, 3 … per (situation, stage, channel, locale)
    status: VersionStatus = Field(default=VersionStatus.DRAFT, sa_type=Vocabulary(VersionStatus, 16))
    parts: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    author: str = Field(default="seed", max_length=200)  # "seed", or "staff:<email>"
    note: str | None = Field(default=None, max_length=500)
    based_on: int | None = Field(default=None)  # the version a rollback copied, or the draft's starting point
    findings: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    approved_by: str | None = Field(default=None, max_length=200)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_by: str | None = Field(default=None, max_length=200)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
