"""Dropping a notice that is no longer worth sending: one place, always audited with the reason."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from engine import audit
from engine.models import Notice
from engine.vocabulary import NoticeStatus


def drop_notice(session: Session, notice: Notice, *, at: datetime, reason: str) -> None:
    notice.status, notice.status_reason = NoticeStatus.DROPPED, reason[:500]
    audit.append(
        session,
        at=at,
        actor="system",
        action="notice.dropped",
        subject=f"notice:{notice.id}",
        details={"channel": notice.channel, "stage": notice.stage, "reason": notice.status_reason},
    )
