"""Queries for fan-out approvals."""

from __future__ import annotations

from sqlmodel import Session, col, select

from engine.db import row_locks
from engine.models import FanoutApproval


def find(session: Session, *, incident_id: str, component: str) -> FanoutApproval | None:
    statement = select(FanoutApproval).where(
        FanoutApproval.incident_id == incident_id, FanoutApproval.component == component
    )
    return session.exec(statement).first()


def get_for_decision(session: Session, approval_id: int) -> FanoutApproval | None:
    return session.get(FanoutApproval, approval_id, with_for_update=row_locks(session))


def listing(session: Session, *, status: str | None, limit: int) -> list[FanoutApproval]:
    """Newest first, optionally only those with `status`."""
    statement = select(FanoutApproval)
    if status is not None:
        statement = statement.where(FanoutApproval.status == status)
    return list(session.exec(statement.order_by(col(FanoutApproval.id).desc()).limit(limit)).all())
