"""Channel fallback: a text that failed for good becomes an email, when the customer said yes to email.

Consent still rules: the email goes only to a customer who consented to email, has an address and has
not unsubscribed (`routes_for`). It is planned once per situation and stage: when any email for that
stage exists already (sent, pending, failed or dropped), nothing more is planned.
"""

from __future__ import annotations

from sqlmodel import Session

from engine import audit
from engine.models import Customer, Notice, Situation
from engine.notices import repository
from engine.notices.composer import subject_for
from engine.notices.journal import notice_entry
from engine.notices.planner import Planner, PlanRequest, SituationRow, write_notices
from engine.notices.threads import load_threads
from engine.policy.channels import routes_for
from engine.runtime import Runtime
from engine.suppressions import service as suppressions
from engine.vocabulary import WARNING_STAGES, Channel, SituationStatus

EMAIL_ONLY = frozenset({Channel.EMAIL})


def plan_email_fallback(session: Session, rt: Runtime, failed: Notice, *, reason: str) -> int | None:
    """Plan the email for a failed text in the caller's transaction; its id, or None when there is none."""
    if failed.channel != Channel.SMS:
        return None
    customer = session.get(Customer, failed.customer_id)
    situation = session.get(Situation, failed.situation_id)
    if customer is None or situation is None:
        return None
    if failed.stage in WARNING_STAGES and situation.status == SituationStatus.RESOLVED:
        return None  # the problem is fixed: a late warning by email would only confuse
    suppressed = {c: suppressions.describe(row) for c, row in suppressions.for_customer(session, customer).items()}
    if not any(route.channel == Channel.EMAIL for route in routes_for(customer, suppressed).routes):
        return None
    if repository.has_notice(session, situation_id=failed.situation_id, stage=failed.stage, channel=Channel.EMAIL):
        return None
    now = rt.clock.now()
    thread = load_threads(session, thread_key=situation.subject_key, customer_ids=[customer.id])[customer.id]
    request = PlanRequest(customer, SituationRow.of(situation), failed.stage, thread, only_channels=EMAIL_ONLY)
    planned = Planner(rt, now=now).plan(session, [request], subject=subject_for(session, situation))
    if not planned.rows:
        return None
    email_id: int = planned.rows[0]["id"]
    write_notices(session, planned)
    # The failed text's entry: its channel and stage, and where its news went instead.
    fallback = notice_entry(
        failed,
        "notice.fallback",
        at=now,
        from_channel=Channel.SMS,
        to_channel=Channel.EMAIL,
        fallback_notice_id=email_id,
        customer_id=customer.id,
        reason=reason,
    )
    audit.append_many(session, [*planned.entries[0], fallback])
    return email_id
