"""What Twilio says after it accepted a text: status callbacks and replies (STOP, START, HELP, other).

Provider statuses are kept on the notice without a new column: a sent notice stays `sent` and its
`status_reason` reads `provider: <status>` (queued → sending → sent → delivered); it only ever moves
forward, and `delivered` (or `read`) is final. `undelivered`/`failed` turn the notice `failed` with
reason `twilio <ErrorCode>`, which is final too; a failed text may be followed by an email (fallback).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from sqlmodel import col, select

from engine import audit
from engine.db import row_locks
from engine.logmask import mask_phone
from engine.models import Notice, NoticeStatus
from engine.notices.delivery import after_text_failed
from engine.preferences import set_sms_opt_out_for_number
from engine.runtime import Runtime
from engine.suppressions import service as suppressions

log = logging.getLogger(__name__)

PROVIDER_PREFIX = "provider: "
# How far along a message is; a callback never moves a notice to a lower rank.
PROGRESS = {"accepted": 1, "scheduled": 1, "queued": 1, "sending": 2, "sent": 3, "delivered": 4, "read": 5}
FINAL = ("delivered", "read")
FAILURES = ("undelivered", "failed")

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP"})


@dataclass(frozen=True)
class StatusOutcome:
    outcome: Literal["unknown", "ignored", "recorded", "failed"]
    notice_id: int | None = None


def apply_status(rt: Runtime, *, message_sid: str, status: str, error_code: str | None) -> StatusOutcome:
    """Record one status callback for the notice Twilio knows as `message_sid`."""
    status = status.strip().lower()
    with rt.unit_of_work() as session:
        statement = select(Notice).where(Notice.provider_id == message_sid).order_by(col(Notice.id)).limit(1)
        if row_locks(session):
            statement = statement.with_for_update()
        notice = session.exec(statement).first()
        if notice is None or notice.id is None:
            return StatusOutcome("unknown")
        current = provider_status(notice)
        if notice.status != NoticeStatus.SENT or current in FINAL:
            return StatusOutcome("ignored", notice.id)  # failed, dropped or delivered already: final
        now = rt.clock.now()
        details: dict[str, object] = {"channel": notice.channel, "stage": notice.stage, "provider_status": status}
        if status in FAILURES:
            reason = f"twilio {error_code}" if error_code else f"twilio {status}"
            notice.status, notice.status_reason = NoticeStatus.FAILED, reason
            details.update(error_code=error_code or None, reason=reason)
            audit.append(
                session, at=now, actor="twilio", action="notice.failed", subject=f"notice:{notice.id}", details=details
            )
            after_text_failed(session, rt, notice, error=reason)
            return StatusOutcome("failed", notice.id)
        if status not in PROGRESS or PROGRESS[status] <= PROGRESS.get(current or "", 0):
            return StatusOutcome("ignored", notice.id)
        notice.status_reason = f"{PROVIDER_PREFIX}{status}"
        action = "notice.delivered" if status in FINAL else "notice.provider_status"
        audit.append(session, at=now, actor="twilio", action=action, subject=f"notice:{notice.id}", details=details)
        return StatusOutcome("recorded", notice.id)


def provider_status(notice: Notice) -> str | None:
    """The last status the provider reported for a sent notice, if any."""
    reason = notice.status_reason or ""
    return reason.removeprefix(PROVIDER_PREFIX) if reason.startswith(PROVIDER_PREFIX) else None


@dataclass(frozen=True)
class InboundReply:
    kind: Literal["stop", "start", "help", "reply", "unknown_number"]
    customer_ids: list[str]


def receive_text(rt: Runtime, *, from_number: str, body: str, opt_out_type: str | None = None) -> InboundReply:
    """A text from a customer: opt-out and opt-in keywords, HELP, or a reply kept for staff.

    `opt_out_type` is Twilio's `OptOutType` (STOP, START or HELP), sent when a messaging service has
    custom opt-out keywords; it wins over our own keyword list.
    """
    keyword = (opt_out_type or body).strip().upper()
    with rt.unit_of_work() as session:
        now = rt.clock.now()
        if keyword in STOP_WORDS or keyword in START_WORDS:
            stop = keyword in STOP_WORDS
            ids = set_sms_opt_out_for_number(
                session, phone=from_number, opted_out=stop, actor="customer", at=now, reason=f"replied {keyword}"
            )
            return InboundReply("stop" if stop else "start", ids)
        ids = [c.id for c in suppressions.customers_with_phone(session, from_number)]
        if not ids:
            log.info("text from a number no customer has (%s); ignored", mask_phone(from_number))
            return InboundReply("unknown_number", [])
        if keyword in HELP_WORDS:
            return InboundReply("help", ids)
        for customer_id in ids:
            # The text itself is personal data: it goes to the audited timeline for staff, never to logs.
            audit.append(
                session,
                at=now,
                actor="customer",
                action="customer.replied",
                subject=f"customer:{customer_id}",
                details={"channel": "sms", "length": len(body), "text": body},
            )
        return InboundReply("reply", ids)
