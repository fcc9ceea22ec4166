"""Queries for the incidents page and fan-out approvals: live and recent incidents, how far telling their
customers has got, and who follows a component (by channel and locale, and the few worth a sample)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, distinct, literal, or_
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, func, select

from engine.db.bulk import table_of
from engine.models import Customer, CustomerComponent, FanoutApproval, Incident, Notice
from engine.state.subscriptions import Subscriber, load_subscribers
from engine.vocabulary import REACHED, WARNING_STAGES, Channel, NoticeStatus, Stage


def live_and_recent(session: Session, *, resolved_since: datetime, limit: int) -> list[Incident]:
    """Incidents not yet resolved, and those resolved since then; newest first."""
    statement = (
        select(Incident)
        .where(or_(col(Incident.resolved_at).is_(None), col(Incident.resolved_at) >= resolved_since))
        .order_by(col(Incident.started_at).desc())
        .limit(limit)
    )
    return list(session.exec(statement).all())


@dataclass(frozen=True)
class Reach:
    """Customers (not messages) at each step of telling them about one incident."""

    told: int  # a warning went out (or is going out right now)
    waiting_quiet_hours: int  # a warning waits for the recipient's morning
    waiting_daily_limit: int  # a warning waits for a slot under the daily limit
    thanked: int  # the follow-up went out
    not_sent: int  # a notice was dropped, merged away or failed


def reach(session: Session, incident_id: str, *, now: datetime) -> Reach:
    """One scan of the incident's notices (its index), each figure a count of distinct customers."""
    n = Notice
    warning = col(n.stage).in_(sorted(WARNING_STAGES))
    pending = col(n.status) == NoticeStatus.PENDING
    held = col(n.status_reason).like("held: %")
    waits = and_(warning, pending, col(n.deferred), col(n.send_at) > now)

    def customers(condition: Any) -> Any:
        return func.count(distinct(case((condition, col(n.customer_id)), else_=literal(None))))

    statement = select_columns(
        customers(and_(warning, col(n.status).in_(sorted(REACHED)))),
        customers(and_(waits, or_(col(n.status_reason).is_(None), ~held))),
        customers(and_(warning, pending, held)),
        customers(and_(col(n.stage) == Stage.RESOLVED, col(n.status).in_(sorted(REACHED)))),
        customers(col(n.status).in_((NoticeStatus.DROPPED, NoticeStatus.MERGED, NoticeStatus.FAILED))),
    ).where(col(n.incident_id) == incident_id)
    told, quiet, limited, thanked, not_sent = session.execute(statement).one()
    return Reach(int(told), int(quiet), int(limited), int(thanked), int(not_sent))


def followers(session: Session, components: Sequence[str]) -> int:
    """Customers following any of these components (each once)."""
    if not components:
        return 0
    statement = select(func.count(distinct(col(CustomerComponent.customer_id)))).where(
        col(CustomerComponent.component).in_(list(components))
    )
    return int(session.exec(statement).one())


def approvals_for(session: Session, incident_ids: Sequence[str]) -> list[FanoutApproval]:
    if not incident_ids:
        return []
    statement = select(FanoutApproval).where(col(FanoutApproval.incident_id).in_(list(incident_ids)))
    return list(session.exec(statement.order_by(col(FanoutApproval.id))).all())


def audience(session: Session, component: str) -> list[tuple[str, bool, bool, int]]:
    """(locale, reachable by email, reachable by text, customers) among the component's followers:
    consent and an address; the suppression list and quiet hours apply later, when sending."""
    c, link = table_of(Customer).c, table_of(CustomerComponent).c
    channels = cast(c.channels, String)
    email = and_(channels.like(f'%"{Channel.EMAIL}"%'), c.email.is_not(None), ~c.email_opted_out)
    sms = and_(channels.like(f'%"{Channel.SMS}"%'), c.phone.is_not(None))
    by_email, by_sms = case((email, 1), else_=0), case((sms, 1), else_=0)
    statement = (
        select_columns(c.locale, by_email, by_sms, func.count())
        .join_from(table_of(CustomerComponent), table_of(Customer), link.customer_id == c.id)
        .where(link.component == component)
        .group_by(c.locale, by_email, by_sms)
    )
    return [(locale, bool(e), bool(s), int(n)) for locale, e, s, n in session.execute(statement).all()]


def sample_followers(session: Session, component: str, *, texted: int) -> dict[str, list[Subscriber]]:
    """The followers worth a sample: the first of each locale, the longest name, and up to `texted`
    followers who take texts, longest names first (where a character outside GSM-7 is likeliest)."""
    c, link = table_of(Customer).c, table_of(CustomerComponent).c
    joined = select_columns(c.id).join_from(table_of(CustomerComponent), table_of(Customer), link.customer_id == c.id)
    joined = joined.where(link.component == component)
    per_locale = select_columns(func.min(c.id)).join_from(
        table_of(CustomerComponent), table_of(Customer), link.customer_id == c.id
    )
    per_locale = per_locale.where(link.component == component).group_by(c.locale)
    locale_ids = [row[0] for row in session.execute(per_locale).all()]
    longest = [row[0] for row in session.execute(joined.order_by(func.length(c.name).desc(), c.id).limit(1)).all()]
    takes_texts = joined.where(cast(c.channels, String).like(f'%"{Channel.SMS}"%'), c.phone.is_not(None))
    texters = [row[0] for row in session.execute(takes_texts.order_by(func.length(c.name).desc(), c.id).limit(texted))]
    found = load_subscribers(session, {*locale_ids, *longest, *texters})
    return {
        "locales": [found[i] for i in sorted(locale_ids) if i in found],
        "longest_name": [found[i] for i in longest if i in found],
        "texters": [found[i] for i in texters if i in found],
    }
