"""Engine-wide switches staff flip at run time (e.g. the global pause on sending)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from engine.db import UTCDateTime


class EngineFlag(SQLModel, table=True):
    __tablename__ = "engine_flags"

    name: str = Field(primary_key=True, max_length=64)
    value: bool = Field(default=False)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(default="system", max_length=200)
