"""What the audit log says about a notice, in one format: its channel and stage, and what happened to it;
and dropping a notice no longer worth sending, always audited with the reason."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session

from engine import audit
from engine.audit import Entry
from engine.models import Notice
from engine.vocabulary import Channel, NoticeStatus, Stage


class NoticeLike(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def channel(self) -> Channel: ...
    @property
    def stage(self) -> Stage: ...


def notice_entry(notice: NoticeLike, action: str, *, at: datetime, actor: str = "system", **details: Any) -> Entry:
    """An audit entry about `notice`: `notice.<what happened>`, with its channel, stage and `details`."""
    return Entry(
        at=at,
        actor=actor,
        action=action,
        subject=f"notice:{notice.id}",
        details={"channel": notice.channel, "stage": notice.stage, **details},
    )


def log_notice(
    session: Session, notice: NoticeLike, action: str, *, at: datetime, actor: str = "system", **details: Any
) -> None:
    """Append `notice_entry(...)` to the audit log in the caller's transaction."""
    entry = notice_entry(notice, action, at=at, actor=actor, **details)
    audit.append(
        session, at=entry.at, actor=entry.actor, action=entry.action, subject=entry.subject, details=entry.details
    )


def drop_notice(session: Session, notice: Notice, *, at: datetime, reason: str) -> None:
    notice.status, notice.status_reason = NoticeStatus.DROPPED, reason[:500]
    log_notice(session, notice, "notice.dropped", at=at, reason=notice.status_reason)
