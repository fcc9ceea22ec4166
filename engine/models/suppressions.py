"""Addresses we must not send to, per channel: a number that replied STOP, a mailbox that does not exist."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.db import UTCDateTime, Vocabulary
from engine.vocabulary import Channel, SuppressionKind


class ChannelSuppression(SQLModel, table=True):
    """Keyed by the address, not the customer: a STOP holds for whoever has the number, now or later."""

    __tablename__ = "channel_suppressions"
    __table_args__ = (UniqueConstraint("channel", "address", name="uq_channel_suppressions_channel_address"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: Channel = Field(sa_type=Vocabulary(Channel, 16))
    address: str = Field(max_length=320)  # normalised: E.164 for sms, lower-cased for email
    reason: str = Field(max_length=500)
    source: str = Field(max_length=32)  # who said so: customer (STOP), a provider (twilio, smtp), staff
    kind: SuppressionKind = Field(default=SuppressionKind.OPT_OUT, sa_type=Vocabulary(SuppressionKind, 16))
    created_at: datetime = Field(sa_type=UTCDateTime)
