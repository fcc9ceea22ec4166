"""Raw inbound events, stored once per (source, external id) before anything acts on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.db import JSONType, UTCDateTime, Vocabulary
from engine.vocabulary import FeedSource


class InboundEvent(SQLModel, table=True):
    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_inbound_events_source_external_id"),
        Index("ix_inbound_events_unhandled", "handled_at", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: FeedSource = Field(sa_type=Vocabulary(FeedSource, 32), index=True)
    # The feed's id, '#', and 16 hex of the content's digest (engine.inbound.service.delivery_key).
    external_id: str = Field(max_length=220)
    type: str = Field(max_length=64)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the relay should (re)queue this event if it is still unhandled: a lost job, or an event
    # that waits for its order to arrive.
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    outcome: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, max_length=2000)
    # Ids the event touches, for filtering the read API without unpacking JSON.
    customer_id: str | None = Field(default=None, max_length=128, index=True)
    order_id: str | None = Field(default=None, max_length=128, index=True)
