"""Customer contact preferences changed by the customer (unsubscribe, STOP), staff or the provider; audited."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from engine import audit
from engine.logmask import mask_phone
from engine.models import Customer, Notice, NoticeStatus
from engine.notices.dropping import drop_notice
from engine.runtime import Runtime

log = logging.getLogger(__name__)


def set_email_opt_out(rt: Runtime, customer_id: str, *, opted_out: bool, actor: str) -> bool:
    """Returns False when the customer is unknown."""
    with rt.unit_of_work() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            return False
        if customer.email_opted_out != opted_out:
            customer.email_opted_out = opted_out
            audit.append(
                session,
                at=rt.clock.now(),
                actor=actor,
                action="customer.email_unsubscribed" if opted_out else "customer.email_resubscribed",
                subject=f"customer:{customer_id}",
                details={},
            )
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
    """Opt every customer with this number out of SMS (or back in), in the caller's transaction.

    A phone number can be shared (a household, a business line): STOP from it stops them all. Opting
    out also drops texts to the number still waiting to go out. Returns the ids of the customers with
    this number, changed or not; each actual change is audited.
    """
    customers = list(session.exec(select(Customer).where(Customer.phone == phone).order_by(col(Customer.id))).all())
    for customer in customers:
        if customer.sms_opted_out == opted_out:
            continue
        customer.sms_opted_out = opted_out
        customer.updated_at = at
        audit.append(
            session,
            at=at,
            actor=actor,
            action="customer.sms_opted_out" if opted_out else "customer.sms_opted_in",
            subject=f"customer:{customer.id}",
            details={"reason": reason},
        )
    if opted_out:
        _drop_pending_texts(session, phone=phone, at=at, reason=reason)
    if customers:
        log.info(
            "sms %s for %s (%d customers)", "opt-out" if opted_out else "opt-in", mask_phone(phone), len(customers)
        )
    return [c.id for c in customers]


def _drop_pending_texts(session: Session, *, phone: str, at: datetime, reason: str) -> None:
    statement = select(Notice).where(
        Notice.channel == "sms", Notice.recipient == phone, Notice.status == NoticeStatus.PENDING
    )
    for notice in session.exec(statement).all():
        drop_notice(session, notice, at=at, reason=f"number opted out of SMS ({reason})")
