"""Queries for situations."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from engine.db import row_locks
from engine.models import Situation
from engine.vocabulary import SituationStatus


def open_for_subject(session: Session, *, customer_id: str, subject_key: str) -> list[Situation]:
    statement = _OPEN_FOR_SUBJECT[row_locks(session)]
    return list(session.exec(statement, params={"customer_id": customer_id, "subject_key": subject_key}).all())


# The hottest lookup of event processing, built once with bound parameters: SQLAlchemy then skips
# constructing and keying a new statement per call. Indexed by whether rows are locked (PostgreSQL).
_OPEN_ANY = (
    select(Situation)
    .where(
        Situation.customer_id == bindparam("customer_id"),
        Situation.subject_key == bindparam("subject_key"),
        Situation.status == SituationStatus.OPEN,
    )
    .order_by(col(Situation.updated_at).desc())
)
_OPEN_FOR_SUBJECT = {False: _OPEN_ANY, True: _OPEN_ANY.with_for_update()}
_ABOUT_ANY = (
    select(Situation)
    .where(Situation.customer_id == bindparam("customer_id"), Situation.subject_key == bindparam("subject_key"))
    .order_by(col(Situation.id))
)
_ABOUT_ONE = {False: _ABOUT_ANY, True: _ABOUT_ANY.with_for_update()}


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


def about_subject(
    session: Session, customer_ids: Sequence[str], subject_key: str, *, lock: bool = True, id_range: bool = False
) -> list[Situation]:
    """The customers' situations about the subject, in id order, locked on PostgreSQL (unless `lock` is
    false).

    Found by customer id alone and the subject checked here — a fan-out's own rows make `subject_key`
    the least selective column there is (see `engine.notices.threads.load_threads`) — then only the
    matching rows are locked, by primary key. `id_range`: the customers are a run in id order (a fan-out's
    batch of subscribers), read with one index range instead of an IN list's thousand probes.
    """
    if not customer_ids:
        return []
    if len(customer_ids) == 1:  # one customer's order or follow: one indexed lookup, its statement built once
        params = {"customer_id": customer_ids[0], "subject_key": subject_key}
        return list(session.exec(_ABOUT_ONE[lock and row_locks(session)], params=params).all())
    wanted = set(customer_ids)
    where = (
        (col(Situation.customer_id) >= min(wanted)) & (col(Situation.customer_id) <= max(wanted))
        if id_range
        else col(Situation.customer_id).in_(list(customer_ids))
    )
    candidates = session.execute(select(Situation.id, Situation.customer_id, Situation.subject_key).where(where)).all()
    ids = [situation_id for situation_id, customer, key in candidates if key == subject_key and customer in wanted]
    if not ids:
        return []
    statement = select(Situation).where(col(Situation.id).in_(ids)).order_by(col(Situation.id))
    if lock and row_locks(session):
        statement = statement.with_for_update()
    return [s for s in session.exec(statement).all() if s.subject_key == subject_key]


def by_ids(session: Session, ids: Collection[int]) -> dict[int, Situation]:
    """These situations, by id (one query)."""
    if not ids:
        return {}
    rows = session.exec(select(Situation).where(col(Situation.id).in_(list(ids)))).all()
    return {s.id: s for s in rows if s.id is not None}


def resolved_among(session: Session, ids: Collection[int]) -> set[int]:
    """Which of these situations are resolved (read by primary key: two columns, one query)."""
    if not ids:
        return set()
    rows = session.exec(select(Situation.id, Situation.status).where(col(Situation.id).in_(list(ids)))).all()
    return {situation_id for situation_id, status in rows if status == SituationStatus.RESOLVED and situation_id}
