"""What a provider says after it accepted a message (status callbacks), and what customers text back
(STOP, START, HELP, anything else). Adapters read their provider's format (`engine.delivery.channel`);
this is what the engine does with it.

Provider statuses are kept on the notice without a new column: a sent notice stays `sent` and its
`status_reason` reads `provider: <status>` (queued → sending → sent → delivered); it only ever moves
forward, and `delivered` (or `read`) is final. A failure turns the notice `failed` with the provider's
reason, which is final too; what it says about the number is honoured and a failed text may be followed
by an email (fallback), exactly as for a refusal at sending.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlmodel import Session

from engine import audit
from engine.audit import Personal
from engine.delivery.channel import FINAL, PROGRESS, InboundText, StatusReport
from engine.delivery.record import Failure, after_failures
from engine.logmask import mask_phone
from engine.models import Notice
from engine.notices import repository
from engine.notices.journal import log_notice
from engine.preferences.service import set_sms_opt_out_for_number
from engine.runtime import Runtime
from engine.suppressions import service as suppressions
from engine.vocabulary import Channel, NoticeStatus

log = logging.getLogger(__name__)

PROVIDER_PREFIX = "provider: "

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP"})


@dataclass(frozen=True)
class StatusOutcome:
    outcome: Literal["unknown", "ignored", "recorded", "failed"]
    notice_id: int | None = None


def apply_status(session: Session, rt: Runtime, provider: str, report: StatusReport) -> StatusOutcome:
    """Record one status callback for the notice the provider knows as `report.provider_id`."""
    notice = repository.by_provider_id(session, report.provider_id)
    if notice is None or notice.id is None:
        return StatusOutcome("unknown")
    current = provider_status(notice)
    if notice.status != NoticeStatus.SENT or current in FINAL:
        return StatusOutcome("ignored", notice.id)  # failed, dropped or delivered already: final
    now = rt.clock.now()
    if report.failure is not None:
        reason = (report.failure.error or f"{provider} {report.status}")[:500]
        notice.status, notice.status_reason = NoticeStatus.FAILED, reason
        failed = {"provider_status": report.status, "error_code": report.failure.code, "reason": reason}
        log_notice(session, notice, "notice.failed", at=now, actor=provider, **failed)
        failure = Failure(notice, report.failure, provider, suppress=report.failure.address_rejected)
        after_failures(session, rt, [failure])
        return StatusOutcome("failed", notice.id)
    if report.status not in PROGRESS or PROGRESS[report.status] <= PROGRESS.get(current or "", 0):
        return StatusOutcome("ignored", notice.id)
    notice.status_reason = f"{PROVIDER_PREFIX}{report.status}"
    action = "notice.delivered" if report.status in FINAL else "notice.provider_status"
    log_notice(session, notice, action, at=now, actor=provider, provider_status=report.status)
    return StatusOutcome("recorded", notice.id)


def provider_status(notice: Notice) -> str | None:
    """The last status the provider reported for a sent notice, if any."""
    reason = notice.status_reason or ""
    return reason.removeprefix(PROVIDER_PREFIX) if reason.startswith(PROVIDER_PREFIX) else None


@dataclass(frozen=True)
class InboundReply:
    kind: Literal["stop", "start", "help", "reply", "unknown_number"]
    customer_ids: list[str]


def receive_text(session: Session, text: InboundText, *, at: datetime) -> InboundReply:
    """A text from a customer: opt-out and opt-in keywords, HELP, or a reply kept for staff.

    The provider's own reading of the keyword (`text.keyword`) wins over our keyword list.
    """
    keyword = (text.keyword or text.body).strip().upper()
    if keyword in STOP_WORDS or keyword in START_WORDS:
        stop = keyword in STOP_WORDS
        ids = set_sms_opt_out_for_number(
            session, phone=text.sender, opted_out=stop, actor="customer", at=at, reason=f"replied {keyword}"
        )
        return InboundReply("stop" if stop else "start", ids)
    ids = [c.id for c in suppressions.customers_with_phone(session, text.sender)]
    if not ids:
        log.info("text from a number no customer has (%s); ignored", mask_phone(text.sender))
        return InboundReply("unknown_number", [])
    if keyword in HELP_WORDS:
        return InboundReply("help", ids)
    for customer_id in ids:
        # The text itself is personal data: it goes to the audited timeline for staff, never to logs.
        audit.append(
            session,
            at=at,
            actor="customer",
            action="customer.replied",
            subject=f"customer:{customer_id}",
            details={"channel": Channel.SMS, "length": len(text.body)},
            personal=Personal(customer_id, {"text": text.body}),  # their words: erasable, apart from the chain
        )
    return InboundReply("reply", ids)
