"""The remedy pool: codes staff load, each offered once, to one customer's situation, never twice.

Claiming is safe across concurrent planners: on PostgreSQL candidates are picked with `FOR UPDATE SKIP
LOCKED`, and every claim is a conditional UPDATE (`customer_id IS NULL`) whose row count says whether it
won; SQLite lets one writer in at a time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from engine.config import Settings
from engine.models import RemedyCode


def load_codes(session: Session, codes: Iterable[tuple[str, str]], *, now: datetime) -> int:
    """Add (code, description) pairs to the pool; a code already loaded is left as it is. Returns how many
    were added."""
    wanted: dict[str, str] = {}
    for code, description in codes:
        code = code.strip()
        if code and code not in wanted:
            wanted[code] = description.strip()
    if not wanted:
        return 0
    known = set(session.exec(select(RemedyCode.code).where(col(RemedyCode.code).in_(list(wanted)))).all())
    fresh = [RemedyCode(code=c, description=d, loaded_at=now) for c, d in wanted.items() if c not in known]
    session.add_all(fresh)
    session.flush()
    return len(fresh)


def pool_left(session: Session) -> int:
    return int(
        session.exec(select(func.count()).select_from(RemedyCode).where(col(RemedyCode.customer_id).is_(None))).one()
    )


def claimed_for(session: Session, situation_ids: Collection[int]) -> dict[int, RemedyCode]:
    if not situation_ids:
        return {}
    rows = session.exec(select(RemedyCode).where(col(RemedyCode.situation_id).in_(list(situation_ids)))).all()
    return {row.situation_id: row for row in rows if row.situation_id is not None}


def claim(session: Session, *, customer_id: str, situation_id: int, now: datetime) -> RemedyCode | None:
    """Take one unclaimed code for this situation, or None when the pool is empty."""
    postgres = session.get_bind().dialect.name == "postgresql"
    for _ in range(5):
        query = select(RemedyCode.id).where(col(RemedyCode.customer_id).is_(None)).order_by(col(RemedyCode.id)).limit(1)
        if postgres:
            query = query.with_for_update(skip_locked=True)
        candidate = session.exec(query).first()
        if candidate is None:
            return None
        won = session.execute(
            update(RemedyCode)
            .where(col(RemedyCode.id) == candidate, col(RemedyCode.customer_id).is_(None))
            .values(customer_id=customer_id, situation_id=situation_id, claimed_at=now)
        )
        if won.rowcount == 1:  # type: ignore[attr-defined]
            return session.get(RemedyCode, candidate, populate_existing=True)
    return None


def as_context(code: RemedyCode, settings: Settings) -> dict[str, Any]:
    return {"code": code.code, "description": code.description or settings.remedy_description}
