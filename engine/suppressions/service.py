"""Add and lift suppressions, and ask whether a route is suppressed; every change is audited.

A suppression is keyed by the normalised address, not by a customer: a number that replied STOP stays
opted out for every customer who has it, including customers created later, until START (or staff)
lifts it; a mailbox the receiving server says does not exist stays unused until the customer's address
changes or staff clear it. Nothing is logged with a full address.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from engine import audit
from engine.models import ChannelSuppression, Customer, Notice
from engine.models.customers import Recipient
from engine.notices.journal import drop_notice
from engine.suppressions import repository
from engine.suppressions.addresses import PHONE_SEPARATORS, masked, normalize
from engine.vocabulary import Channel, NoticeStatus, SuppressionKind

log = logging.getLogger(__name__)

REFUSAL_WINDOW = timedelta(hours=1)


def describe(row: ChannelSuppression) -> str:
    """Why a route is skipped, in the words staff read on notices and in the audit log."""
    undeliverable = row.kind == SuppressionKind.UNDELIVERABLE
    if row.channel == Channel.SMS:
        return f"number {'cannot receive texts' if undeliverable else 'opted out of SMS'} ({row.reason})"
    if undeliverable:
        return f"email address undeliverable ({row.reason})"
    return f"{row.channel} address suppressed by {row.source} ({row.reason})"


class RefusalLimit:
    """The hour's limit on addresses a provider may mark undeliverable (FOREWARN_MAX_REFUSED_ADDRESSES_PER_HOUR).

    A provider refusing mailboxes one by one is news about those mailboxes; one refusing hundreds an hour
    is more likely misconfigured (a relay answering 550 5.1.1 to everyone), and marking them all would
    silence every customer until staff cleared the list by hand. Counted once per source for the
    transaction that uses it (a single delivery, or a batch chunk).
    """

    def __init__(self, limit: int, *, now: datetime) -> None:
        self.limit, self.now = limit, now
        self.left: dict[str, int] = {}
        self.withheld: Counter[str] = Counter()

    def take(self, session: Session, source: str) -> bool:
        """Whether one more address refused by `source` may be marked now."""
        if source not in self.left:
            marked = repository.count_added_since(session, source=source, since=self.now - REFUSAL_WINDOW)
            self.left[source] = max(0, self.limit - marked)
        if self.left[source] <= 0:
            self.withheld[source] += 1
            return False
        self.left[source] -= 1
        return True

    def report_withheld(self, session: Session) -> None:
        """Audit (and log) the refused addresses not marked because the hour's limit was reached."""
        for source, count in self.withheld.items():
            audit.append(
                session,
                at=self.now,
                actor="system",
                action="suppression.withheld",
                subject=f"source:{source}",
                details={"source": source, "addresses": count, "limit_per_hour": self.limit},
            )
            log.warning(
                "%s refused %d more addresses after %d this hour; not marking them (a misconfigured relay?)",
                source,
                count,
                self.limit,
            )


def suppress(
    session: Session,
    *,
    channel: Channel,
    address: str,
    reason: str,
    source: str,
    kind: SuppressionKind,
    actor: str,
    at: datetime,
) -> ChannelSuppression | None:
    """Suppress the route in the caller's transaction; returns the new row, None if it was already there.

    Notices to the address still waiting to go out are dropped: they would be refused at claim anyway,
    and dropping them now shows staff the reason at once.
    """
    normalised = normalize(channel, address)
    if not normalised:
        return None
    row = repository.add_if_absent(
        session,
        ChannelSuppression(
            channel=channel, address=normalised, reason=reason[:500], source=source[:32], kind=kind, created_at=at
        ),
    )
    if row is None:
        return None
    audit.append(
        session,
        at=at,
        actor=actor,
        action="suppression.added",
        subject=f"suppression:{row.id}",
        details={
            "channel": channel,
            "address": masked(channel, normalised),
            "source": source,
            "kind": kind,
            "reason": row.reason,
        },
    )
    _drop_pending(session, channel=channel, address=address, normalised=normalised, at=at, reason=describe(row))
    log.info("%s suppressed for %s (%s)", channel, masked(channel, normalised), source)
    return row


def lift(session: Session, *, channel: Channel, address: str, actor: str, at: datetime, reason: str) -> bool:
    """Remove the suppression of this route, if any; returns whether there was one."""
    row = repository.find(session, channel=channel, address=normalize(channel, address))
    if row is None:
        return False
    _remove(session, row, actor=actor, at=at, reason=reason)
    return True


def lift_by_id(session: Session, suppression_id: int, *, actor: str, at: datetime, reason: str) -> bool:
    """Staff clearing one entry; returns False when there is no such suppression."""
    row = session.get(ChannelSuppression, suppression_id)
    if row is None:
        return False
    _remove(session, row, actor=actor, at=at, reason=reason)
    return True


def _remove(session: Session, row: ChannelSuppression, *, actor: str, at: datetime, reason: str) -> None:
    audit.append(
        session,
        at=at,
        actor=actor,
        action="suppression.removed",
        subject=f"suppression:{row.id}",
        details={
            "channel": row.channel,
            "address": masked(row.channel, row.address),
            "source": row.source,
            "was": row.reason,
            "reason": reason[:500],
        },
    )
    session.delete(row)
    session.flush()
    log.info("%s suppression lifted for %s", row.channel, masked(row.channel, row.address))


def for_customer(session: Session, customer: Recipient) -> dict[Channel, ChannelSuppression]:
    """The suppressed routes among the customer's current addresses, by channel."""
    return for_subscribers(session, [customer]).get(customer.id, {})


def _addresses(customer: Recipient) -> list[tuple[Channel, str]]:
    """The customer's routes (channel, normalised address) on the channels they consented to."""
    routes = []
    if customer.email and Channel.EMAIL in customer.channels:
        routes.append((Channel.EMAIL, normalize(Channel.EMAIL, customer.email)))
    if customer.phone and Channel.SMS in customer.channels:
        routes.append((Channel.SMS, normalize(Channel.SMS, customer.phone)))
    return [(channel, address) for channel, address in routes if address]


def for_subscribers(session: Session, customers: Iterable[Recipient]) -> dict[str, dict[Channel, ChannelSuppression]]:
    """Customer id → channel → the suppression on that route, for a whole batch in one query."""
    by_address: dict[tuple[Channel, str], list[str]] = {}
    for customer in customers:
        for route in _addresses(customer):
            by_address.setdefault(route, []).append(customer.id)
    found: dict[str, dict[Channel, ChannelSuppression]] = {}
    for row in repository.find_routes(session, by_address):
        for customer_id in by_address.get((row.channel, row.address), []):
            found.setdefault(customer_id, {})[row.channel] = row
    return found


def for_notices(session: Session, notices: Iterable[Notice]) -> dict[int, ChannelSuppression]:
    """Notice id → the suppression that stops it, for a batch of claims in one query."""
    wanted = {(n.id or 0): (n.channel, normalize(n.channel, n.recipient)) for n in notices}
    by_route = {(row.channel, row.address): row for row in repository.find_routes(session, wanted.values())}
    return {notice_id: by_route[route] for notice_id, route in wanted.items() if route in by_route}


def customers_with_phone(session: Session, phone: str) -> list[Customer]:
    """Every customer whose number is this one, however each was spelled (`+55 11 98765-4321`)."""
    normalised = normalize(Channel.SMS, phone)
    if not normalised:
        return []
    spellings = {normalised, "00" + normalised[1:] if normalised.startswith("+") else normalised}
    statement = select(Customer).where(_digits_only(col(Customer.phone)).in_(sorted(spellings)))
    return list(session.exec(statement.order_by(col(Customer.id))).all())


def _digits_only(column: Any) -> Any:
    """The column without the separators `normalize_phone` drops, in SQL both databases speak."""
    for separator in PHONE_SEPARATORS:
        column = func.replace(column, separator, "")
    return column


def _drop_pending(
    session: Session, *, channel: Channel, address: str, normalised: str, at: datetime, reason: str
) -> None:
    recipient = (
        func.lower(col(Notice.recipient)) == normalised
        if channel == Channel.EMAIL
        else col(Notice.recipient).in_(sorted({address, normalised}))
    )
    statement = select(Notice).where(Notice.channel == channel, Notice.status == NoticeStatus.PENDING, recipient)
    for notice in session.exec(statement).all():
        drop_notice(session, notice, at=at, reason=reason)
