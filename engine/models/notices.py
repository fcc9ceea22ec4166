"""Notices are the outbox: one row per message, written in the decision's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from engine.db import JSONType, UTCDateTime, Vocabulary
from engine.vocabulary import Channel, NoticeStatus, SituationKind, Stage


class Notice(SQLModel, table=True):
    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_status_send_at", "status", "send_at"),)

    id: int | None = Field(default=None, primary_key=True)
    situation_id: int = Field(foreign_key="situations.id", index=True)
    customer_id: str = Field(max_length=128, index=True)
    order_id: str | None = Field(default=None, max_length=128, index=True)
    incident_id: str | None = Field(default=None, max_length=128, index=True)
    thread_key: str = Field(max_length=200, index=True)
    situation: SituationKind = Field(sa_type=Vocabulary(SituationKind, 64))
    stage: Stage = Field(sa_type=Vocabulary(Stage, 16))
    channel: Channel = Field(sa_type=Vocabulary(Channel, 16))
    recipient: str = Field(max_length=320, index=True)  # "texted this number before?" when planning SMS
    locale: str = Field(default="en", max_length=16)
    template: str = Field(max_length=200)  # "<situation>/<stage>[.<locale>]@v<version>"
    subject: str | None = Field(default=None, max_length=500)
    body: str = Field(sa_type=Text)
    html: str | None = Field(default=None, sa_type=Text)
    message_id: str | None = Field(default=None, max_length=200)
    in_reply_to: str | None = Field(default=None, max_length=200)
    status: NoticeStatus = Field(default=NoticeStatus.PENDING, sa_type=Vocabulary(NoticeStatus, 16))
    status_reason: str | None = Field(default=None, max_length=500)
    send_at: datetime = Field(sa_type=UTCDateTime)
    deferred: bool = Field(default=False)
    enqueued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set (and committed) just before the claimed message is handed to the provider: a notice claimed after
    # its last attempt began was never handed over (engine/delivery/ledger.py).
    attempted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider_id: str | None = Field(default=None, max_length=200, index=True)  # provider callbacks look it up
    attempts: int = Field(default=0)
    # Set with status `merged`: the notice whose message carried this one's news (engine/notices/merging.py).
    merged_into: int | None = Field(default=None, foreign_key="notices.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # The template version the words came from (`message_versions.id`); a digest records its own template's.
    template_version_id: int | None = Field(default=None, index=True)
    # The time this message tells the customer they will hear again by (engine/promises); None: it names none.
    next_update_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "delivery_attempts"

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notices.id", index=True)
    attempted_at: datetime = Field(sa_type=UTCDateTime)
    # When a worker claimed the notice for this attempt (the notice keeps only its last claim).
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str = Field(max_length=16)  # sent | transient | rejected
    provider_id: str | None = Field(default=None, max_length=200)
    error: str | None = Field(default=None, max_length=1000)
    # The rest of what the provider said (SendResult: permanent, code, retry_after, address_rejected, …), so
    # the result can be recorded from this row alone (engine/delivery/ledger.py).
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
