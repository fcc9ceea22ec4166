"""What the engine has learned about each carrier from its own delivered history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from engine.db import JSONType, UTCDateTime


class CarrierStats(SQLModel, table=True):
    __tablename__ = "carrier_stats"

    carrier: str = Field(primary_key=True, max_length=64)  # "*" holds every carrier pooled
    deliveries: int = Field(default=0)
    # Recent samples per measure (hours), newest last, capped: transit, scan_gap, eta_error, …
    samples: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    updated_at: datetime = Field(sa_type=UTCDateTime)
