"""Fan-out approvals: an outage announcement to more than FOREWARN_FANOUT_APPROVAL customers waits for staff."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.db import UTCDateTime


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class FanoutApproval(SQLModel, table=True):
    __tablename__ = "fanout_approvals"
    # One decision per incident and component: later scans (and later spells of that incident) follow it.
    __table_args__ = (UniqueConstraint("incident_id", "component", name="uq_fanout_approvals_incident_component"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(max_length=128)
    component: str = Field(max_length=128)
    recipients: int  # subscribers of the component when the approval was asked for
    preview_subject: str | None = Field(default=None, max_length=500)
    preview_text: str = Field(default="", sa_type=Text)  # English email for the first recipient
    status: str = Field(default=ApprovalStatus.PENDING, max_length=16, index=True)
    requested_at: datetime = Field(sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)
