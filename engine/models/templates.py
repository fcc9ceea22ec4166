"""Message templates staff can edit; every edit is a new version, the active one is what renders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.db import UTCDateTime


class MessageTemplate(SQLModel, table=True):
    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("situation", "stage", "part", "locale", name="uq_templates_key"),)

    id: int | None = Field(default=None, primary_key=True)
    situation: str = Field(max_length=64)
    stage: str = Field(max_length=16)
    part: str = Field(max_length=16)  # subject | text | html | sms
    locale: str = Field(default="en", max_length=16)
    active_version: int = Field(default=1)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class TemplateVersion(SQLModel, table=True):
    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "version", name="uq_template_versions_version"),)

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="templates.id", index=True)
    version: int
    source: str = Field(sa_type=Text)
    author: str = Field(default="seed", max_length=200)
    note: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
