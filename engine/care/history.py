"""A customer's recent problems: what went wrong with their orders in the last 90 days, how each ended,
and what they were told — for a whole batch of customers in two queries."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from engine.models import Notice, Situation
from engine.vocabulary import REACHED, SituationStatus

WINDOW = timedelta(days=90)
REPEAT_WINDOW = timedelta(days=30)
RECENT = 5  # the newest problems a template may read


@dataclass
class History:
    """One customer's problems other than the one at hand (a problem is an order with a situation)."""

    problems_30d: int = 0
    problems_90d: int = 0
    recent: list[dict[str, Any]] = field(default_factory=list)

    @property
    def repeat(self) -> bool:
        """The problem at hand is at least the second within 30 days."""
        return self.problems_30d >= 1

    @property
    def nth_in_30d(self) -> int:
        """Which problem within 30 days the one at hand is (1 for a first)."""
        return self.problems_30d + 1

    def as_context(self) -> dict[str, Any]:
        return {"problems_30d": self.problems_30d, "problems_90d": self.problems_90d, "recent": self.recent}


def histories(
    session: Session, wanted: Collection[tuple[str, str]], *, now: datetime
) -> dict[tuple[str, str], History]:
    """For each (customer id, subject key at hand): their other order problems of the last 90 days."""
    if not wanted:
        return {}
    customers = sorted({customer_id for customer_id, _ in wanted})
    rows = session.exec(
        select(Situation)
        .where(col(Situation.customer_id).in_(customers))
        .where(col(Situation.order_id).is_not(None))
        .where(col(Situation.opened_at) >= now - WINDOW)
        .order_by(col(Situation.opened_at).desc())
    ).all()
    told: dict[int, list[str]] = {}
    ids = [row.id for row in rows if row.id is not None]
    if ids:
        stages = session.exec(
            select(Notice.situation_id, Notice.stage)
            .where(col(Notice.situation_id).in_(ids))
            .where(col(Notice.status).in_(list(REACHED)))
            .order_by(col(Notice.id))
        ).all()
        for situation_id, stage in stages:
            said = told.setdefault(situation_id, [])
            if stage not in said:
                said.append(stage)
    by_customer: dict[str, dict[str, list[Situation]]] = {}
    for row in rows:  # newest first; an order's several situations (an exception, then a delay) are one problem
        by_customer.setdefault(row.customer_id, {}).setdefault(row.subject_key, []).append(row)
    found: dict[tuple[str, str], History] = {}
    for customer_id, subject_key in wanted:
        history = History()
        for key, situations in by_customer.get(customer_id, {}).items():
            if key == subject_key:
                continue
            first = min(situations, key=lambda s: s.opened_at)
            history.problems_90d += 1
            if first.opened_at >= now - REPEAT_WINDOW:
                history.problems_30d += 1
            if len(history.recent) < RECENT:
                history.recent.append(_problem(situations, told))
        found[(customer_id, subject_key)] = history
    return found


def _problem(situations: list[Situation], told: dict[int, list[str]]) -> dict[str, Any]:
    newest = situations[0]
    ended = all(s.status == SituationStatus.RESOLVED for s in situations)
    return {
        "order_id": newest.order_id,
        "kinds": sorted({s.kind for s in situations}),
        "opened_at": min(s.opened_at for s in situations),
        "outcome": "resolved" if ended else "open",
        "resolved_at": max((s.resolved_at for s in situations if s.resolved_at), default=None) if ended else None,
        "told": sorted({stage for s in situations for stage in told.get(s.id or 0, [])}),
    }
