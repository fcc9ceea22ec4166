"""Channel fallback: a text that failed for good becomes an email, when the customer said yes to email.

Consent still rules: the email goes only to a customer who consented to email, has an address and has
not unsubscribed (`routes_for`). It is planned once per situation and stage: when any email for that
stage exists already (sent, pending, failed or dropped), nothing more is planned.
"""

from __future__ import annotations

from sqlmodel import Session, select

from engine import audit
from engine.models import Customer, Notice, Situation, SituationStatus
from engine.notices.planner import plan_notices, subject_for
from engine.policy.channels import routes_for
from engine.runtime import Runtime
from engine.suppressions import service as suppressions

WARNING_STAGES = ("initial", "update")


def plan_email_fallback(session: Session, rt: Runtime, failed: Notice, *, reason: str) -> Notice | None:
    """Plan the email for a failed text in the caller's transaction; None when there is none to send."""
    if failed.channel != "sms":
        return None
    customer = session.get(Customer, failed.customer_id)
    situation = session.get(Situation, failed.situation_id)
    if customer is None or situation is None:
        return None
    if failed.stage in WARNING_STAGES and situation.status == SituationStatus.RESOLVED:
        return None  # the problem is fixed: a late warning by email would only confuse
    suppressed = {c: suppressions.describe(row) for c, row in suppressions.for_customer(session, customer).items()}
    if not any(route.channel == "email" for route in routes_for(customer, suppressed).routes):
        return None
    existing = session.exec(
        select(Notice.id)
        .where(Notice.situation_id == failed.situation_id, Notice.stage == failed.stage, Notice.channel == "email")
        .limit(1)
    ).first()
    if existing is not None:
        return None
    planned = plan_notices(
        session,
        rt,
        situation=situation,
        stage=failed.stage,
        customer=customer,
        subject=subject_for(session, situation),
        only_channels={"email"},
    )
    if not planned:
        return None
    email = planned[0]
    audit.append(
        session,
        at=rt.clock.now(),
        actor="system",
        action="notice.fallback",
        subject=f"notice:{failed.id}",
        details={
            "from_channel": "sms",
            "to_channel": "email",
            "fallback_notice_id": email.id,
            "stage": failed.stage,
            "customer_id": customer.id,
            "reason": reason,
        },
    )
    return email
