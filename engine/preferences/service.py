"""Customer contact preferences changed by the customer (unsubscribe, STOP), staff or the provider; audited."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlmodel import Session

from engine import audit
from engine.logmask import mask_phone
from engine.models import Customer
from engine.suppressions import service as suppressions
from engine.vocabulary import Channel, SuppressionKind

log = logging.getLogger(__name__)


def set_email_opt_out(session: Session, customer_id: str, *, opted_out: bool, actor: str, at: datetime) -> bool:
    """Returns False when the customer is unknown."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return False
    if customer.email_opted_out != opted_out:
        customer.email_opted_out = opted_out
        action = "customer.email_unsubscribed" if opted_out else "customer.email_resubscribed"
        _on_timeline(session, customer_id, action, actor=actor, at=at)
    return True


def set_sms_opt_out_for_number(
    session: Session,
    *,
    phone: str,
    opted_out: bool,
    actor: str,
    at: datetime,
    reason: str,
) -> list[str]:
    """Opt a number out of SMS (or back in), in the caller's transaction.

    The opt-out is a suppression of the number itself (`engine.suppressions`), so it holds for every
    customer with it — a household or a business line — and for customers created with it later; texts
    to it still waiting to go out are dropped. Returns the ids of the customers who have the number now,
    changed or not; when the number's state actually changes, each of them gets an audited timeline entry.
    """
    if opted_out:
        changed = _suppress_opt_out(session, Channel.SMS, phone, actor=actor, at=at, reason=reason)
    else:
        changed = suppressions.lift(session, channel=Channel.SMS, address=phone, actor=actor, at=at, reason=reason)
    customers = suppressions.customers_with_phone(session, phone)
    if changed:
        for customer in customers:
            action = "customer.sms_opted_out" if opted_out else "customer.sms_opted_in"
            _on_timeline(session, customer.id, action, actor=actor, at=at, reason=reason)
        log.info(
            "sms %s for %s (%d customers)", "opt-out" if opted_out else "opt-in", mask_phone(phone), len(customers)
        )
    return [c.id for c in customers]


def opt_out_address(session: Session, *, channel: Channel, address: str, actor: str, at: datetime, reason: str) -> None:
    """The person behind an address opted out at the provider (a STOP the provider saw first): nothing
    proactive goes there again, for any customer with it, until they opt back in."""
    if channel == Channel.SMS:
        set_sms_opt_out_for_number(session, phone=address, opted_out=True, actor=actor, at=at, reason=reason)
    else:
        _suppress_opt_out(session, channel, address, actor=actor, at=at, reason=reason)


def _suppress_opt_out(
    session: Session, channel: Channel, address: str, *, actor: str, at: datetime, reason: str
) -> bool:
    """The address on the suppression list as the person's own choice; whether it was not there before."""
    added = suppressions.suppress(
        session,
        channel=channel,
        address=address,
        reason=reason,
        source=actor,
        kind=SuppressionKind.OPT_OUT,
        actor=actor,
        at=at,
    )
    return added is not None


def _on_timeline(session: Session, customer_id: str, action: str, *, actor: str, at: datetime, **details: Any) -> None:
    """A change of the customer's preferences, on their audited timeline."""
    audit.append(session, at=at, actor=actor, action=action, subject=f"customer:{customer_id}", details=details)
