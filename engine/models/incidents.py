"""Service components and the incidents that take them down."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from engine.db import JSONType, UTCDateTime


class Component(SQLModel, table=True):
    __tablename__ = "components"

    name: str = Field(primary_key=True, max_length=128)
    status: str = Field(default="operational", max_length=32)
    status_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the current non-operational spell began (the debounce counts from here).
    down_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    incident_id: str | None = Field(default=None, max_length=128)
    # When customers are to be told about the current spell (down_since + FOREWARN_OUTAGE_DEBOUNCE);
    # cleared once they have been told or the component is back. The scheduler scans what is due.
    notify_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Incident(SQLModel, table=True):
    __tablename__ = "incidents"

    id: str = Field(primary_key=True, max_length=128)
    title: str = Field(default="", max_length=300)
    status: str = Field(default="major_outage", max_length=32)
    message: str | None = Field(default=None, max_length=2000)
    components: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    started_at: datetime = Field(sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the scheduler is to bring the incident's open threads in line with it: news held back by the
    # update interval, or (if the `incidents.sync_threads` job is lost) the pages a big incident's status
    # event left for that job. Cleared when nothing is left to tell.
    threads_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
