"""Queries for the dashboard: grouped counts over a window of notices (read through the index on
`created_at`), opt-outs in the audit log, warnings with the promise they were about, open situations."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, func, select

from engine.models import AuditEntry, Notice, Order, Situation
from engine.read.notice_records import OPT_OUT_ACTIONS
from engine.vocabulary import REACHED, NoticeStatus, SituationStatus, Stage

SUPPRESSED = "suppression.added"


def notices_by_kind(session: Session, *, since: datetime, until: datetime) -> list[tuple[str, str, str, int]]:
    """(situation, channel, status, notices) written in [since, until)."""
    n = Notice
    statement = (
        select(n.situation, n.channel, n.status, func.count())
        .where(col(n.created_at) >= since, col(n.created_at) < until)
        .group_by(col(n.situation), col(n.channel), col(n.status))
    )
    return [(str(s), str(c), str(st), int(k)) for s, c, st, k in session.exec(statement).all()]


def customers_reached(session: Session, *, since: datetime, until: datetime) -> int:
    """Customers with a message sent (or going out) among the notices written in the window."""
    n = Notice
    statement = select(func.count(func.distinct(col(n.customer_id)))).where(
        col(n.created_at) >= since, col(n.created_at) < until, col(n.status).in_(sorted(REACHED))
    )
    return int(session.exec(statement).one())


def opt_outs(session: Session, *, since: datetime, until: datetime) -> int:
    """Opt-outs in the window: a STOP or an unsubscribe on a customer's timeline, and an email address a
    provider reported opted out (a number's STOP is on the timeline already)."""
    window = (col(AuditEntry.at) >= since, col(AuditEntry.at) < until)
    customers = select(func.count()).where(col(AuditEntry.action).in_(list(OPT_OUT_ACTIONS.values())), *window)
    count = int(session.exec(customers).one())
    added = session.exec(select(AuditEntry.details).where(AuditEntry.action == SUPPRESSED, *window)).all()
    return count + sum(1 for d in added if d.get("kind") == "opt_out" and d.get("channel") == "email")


def first_warnings(session: Session, *, since: datetime, until: datetime) -> list[tuple[str, datetime, datetime]]:
    """(order, sent at, promised by) for each order's `initial` warnings sent in the window."""
    n = Notice
    statement = (
        select(n.order_id, n.sent_at, Order.promised_by)
        .join(Order, col(Order.id) == col(n.order_id))
        .where(col(n.created_at) >= since, col(n.created_at) < until)
        .where(n.stage == Stage.INITIAL, n.status == NoticeStatus.SENT, col(Order.promised_by).is_not(None))
    )
    return [(o, s, p) for o, s, p in session.exec(statement).all() if o and s and p]


def open_situations(session: Session) -> list[tuple[str, int]]:
    statement = (
        select(Situation.kind, func.count())
        .where(Situation.status == SituationStatus.OPEN)
        .group_by(col(Situation.kind))
    )
    return [(str(kind), int(count)) for kind, count in session.exec(statement).all()]
