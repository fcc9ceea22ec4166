"""Queries for situations."""

from __future__ import annotations

from sqlmodel import Session, col, select

from engine.db import row_locks
from engine.models import Situation, SituationStatus


def find(session: Session, *, customer_id: str, subject_key: str, kind: str) -> Situation | None:
    statement = select(Situation).where(
        Situation.customer_id == customer_id, Situation.subject_key == subject_key, Situation.kind == kind
    )
    if row_locks(session):
        statement = statement.with_for_update()
    return session.exec(statement).first()


def open_for_subject(session: Session, *, customer_id: str, subject_key: str) -> list[Situation]:
    statement = (
        select(Situation)
        .where(
            Situation.customer_id == customer_id,
            Situation.subject_key == subject_key,
            Situation.status == SituationStatus.OPEN,
        )
        .order_by(col(Situation.updated_at).desc())
    )
    if row_locks(session):
        statement = statement.with_for_update()
    return list(session.exec(statement).all())


def open_about(session: Session, *, subject_key: str, kind: str, after_id: int, limit: int) -> list[Situation]:
    """Open situations about one subject across customers (e.g. everyone told about an incident), by id."""
    statement = (
        select(Situation)
        .where(
            Situation.subject_key == subject_key,
            Situation.kind == kind,
            Situation.status == SituationStatus.OPEN,
            col(Situation.id) > after_id,
        )
        .order_by(col(Situation.id))
        .limit(limit)
    )
    if row_locks(session):
        statement = statement.with_for_update()
    return list(session.exec(statement).all())
