"""Deliver one notice at most once: claim it, send it, record what the provider said.

The one crash window: a worker that dies after the provider accepted the message but before the
"sent" row commits leaves the notice in `sending`. It is never sent again automatically (at most once);
the relay reports such notices so staff can check the provider's log and decide.

At claim time a notice to a suppressed address is dropped, and the daily cap may hold it or merge it
with others due (`engine/notices/capping.py`). A text that fails for good may become an email
(`engine/notices/fallback.py`); Twilio's 21610 opts the number out of SMS, and an SMTP 5xx that says the
mailbox does not exist suppresses the address. See docs/delivery.md.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from engine import audit
from engine.channels import OutboundMessage, SendResult
from engine.compose.seeds import DIGEST
from engine.db import row_locks
from engine.errors import TemplateError
from engine.models import Customer, DeliveryAttempt, Notice, NoticeStatus, Situation, SituationStatus
from engine.notices import repository
from engine.notices.capping import apply_cap
from engine.notices.dropping import drop_notice
from engine.notices.fallback import plan_email_fallback
from engine.notices.merging import all_fixed, carried
from engine.pause import is_paused
from engine.policy.frequency import counts_against_cap
from engine.preferences import set_sms_opt_out_for_number
from engine.runtime import Runtime
from engine.suppressions import service as suppressions

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
TWILIO_UNSUBSCRIBED = "21610"  # Twilio: "Attempt to send to unsubscribed recipient" (the number sent STOP)
WARNING_STAGES = ("initial", "update")
PROVIDER_SOURCE = {"email": "smtp", "sms": "twilio"}  # who said an address is dead, for the suppression


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str
    detail: str | None = None


def deliver_notice(rt: Runtime, notice_id: int, *, jitter: bool = True) -> DeliveryOutcome:
    message = _claim(rt, notice_id)
    if isinstance(message, DeliveryOutcome):
        return message
    # The message may be another notice than the one asked for: the one this was merged into.
    return _record(rt, message.notice_id, send_message(rt, message), jitter=jitter)


def send_message(rt: Runtime, message: OutboundMessage) -> SendResult:
    """Hand one claimed message to its channel; whatever happens, a result comes back (never a raise)."""
    channel = rt.channels.get(message.channel)
    if channel is None:
        return SendResult.rejected(f"no {message.channel} channel is configured")
    try:
        return channel.send(message)
    except TemplateError as exc:  # e.g. a header that would allow injection: never sendable
        return SendResult.rejected(f"message refused before sending: {exc}")
    except Exception as exc:  # a channel bug must not leave the notice claimed forever
        log.exception("channel %s raised while sending notice %s", message.channel, message.notice_id)
        return SendResult.transient(f"{type(exc).__name__} in channel")


def deliver_due(rt: Runtime, *, limit: int = 10_000, jitter: bool = True) -> int:
    """Deliver every pending notice that is due, in this thread (replay, demo, tests), as a worker would:
    in batches (engine/notices/batch_delivery.py)."""
    from engine.notices.batch_delivery import deliver_batch

    with rt.unit_of_work() as session:
        due = [n.id for n in repository.due_pending(session, now=rt.clock.now(), limit=limit) if n.id is not None]
    deliver_batch(rt, due, jitter=jitter)
    return len(due)


def _claim(rt: Runtime, notice_id: int) -> OutboundMessage | DeliveryOutcome:
    with rt.unit_of_work() as session:
        now = rt.clock.now()
        peek = session.exec(select(Notice.customer_id, Notice.stage).where(Notice.id == notice_id)).first()
        if peek is None:
            return DeliveryOutcome("missing")
        if counts_against_cap(peek[1]) and row_locks(session):
            # The daily cap is decided one claim per customer at a time (customer first, then notices,
            # the order every other writer takes too), so two workers never both take the last slot.
            session.get(Customer, peek[0], with_for_update=True)
        notice = repository.get_for_claim(session, notice_id)
        if notice is None:
            return DeliveryOutcome("missing")
        if notice.status != NoticeStatus.PENDING:
            return DeliveryOutcome(notice.status, "already handled")
        if notice.send_at > now:
            return DeliveryOutcome("not_due")
        if is_paused(session):
            return DeliveryOutcome("paused")  # stays pending; the relay queues it again after resume
        if _fixed_meanwhile(session, notice):
            drop_notice(session, notice, at=now, reason="the problem was fixed before this was sent")
            return DeliveryOutcome(NoticeStatus.DROPPED)
        suppressed = suppressions.for_recipient(session, channel=notice.channel, recipient=notice.recipient)
        if suppressed is not None:
            drop_notice(session, notice, at=now, reason=suppressions.describe(suppressed))
            return DeliveryOutcome(NoticeStatus.DROPPED, suppressed.reason)
        carrier = apply_cap(session, rt, notice, now=now)
        if carrier is None:
            return DeliveryOutcome(NoticeStatus.PENDING, notice.status_reason)
        if carrier.status != NoticeStatus.PENDING:  # a digest whose template failed: on the row for staff
            return DeliveryOutcome(carrier.status, carrier.status_reason)
        carrier.status, carrier.claimed_at = NoticeStatus.SENDING, now
        carrier.attempts += 1
        return outbound_message(rt, carrier)


def _fixed_meanwhile(session: Session, notice: Notice) -> bool:
    """A warning (or a digest of warnings) about problems that were all fixed since it was planned."""
    if notice.situation == DIGEST:
        return all_fixed(session, notice)
    return notice.stage in WARNING_STAGES and notice.situation_id in resolved_situations(session, [notice])


def resolved_situations(session: Session, warnings: Sequence[Notice]) -> set[int]:
    """Of these warnings' situations, the ids of those resolved since (read here, by primary key): one
    query for a single claim or a whole batch chunk."""
    ids = {n.situation_id for n in warnings}
    if not ids:
        return set()
    rows = session.exec(select(Situation.id, Situation.status).where(col(Situation.id).in_(ids))).all()
    return {situation_id for situation_id, status in rows if status == SituationStatus.RESOLVED and situation_id}


def outbound_message(rt: Runtime, notice: Notice) -> OutboundMessage:
    """What the channel is handed for a claimed notice."""
    assert notice.id is not None
    callback = f"{rt.settings.public_url.rstrip('/')}/webhooks/twilio/status" if notice.channel == "sms" else None
    headers: dict[str, str] = {}
    if notice.channel == "email":
        from engine.unsubscribe import make_token

        token = make_token(rt.settings, notice.customer_id)
        base = rt.settings.public_url.rstrip("/")
        headers["List-Unsubscribe"] = f"<{base}/unsubscribe/{token}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return OutboundMessage(
        notice_id=notice.id,
        channel="sms" if notice.channel == "sms" else "email",
        recipient=notice.recipient,
        body=notice.body,
        subject=notice.subject,
        html=notice.html,
        message_id=notice.message_id,
        in_reply_to=notice.in_reply_to,
        headers=headers,
        status_callback=callback,
    )


def _record(rt: Runtime, notice_id: int, result: SendResult, *, jitter: bool) -> DeliveryOutcome:
    with rt.unit_of_work() as session:
        now = rt.clock.now()
        notice = repository.get_for_claim(session, notice_id)
        assert notice is not None
        failed_text: Notice | None = None
        refusals = suppressions.RefusalLimit(rt.settings.max_refused_addresses_per_hour, now=now)
        outcome = "sent" if result.ok else ("rejected" if result.permanent else "transient")
        session.add(
            DeliveryAttempt(
                notice_id=notice_id,
                attempted_at=now,
                outcome=outcome,
                provider_id=result.provider_id,
                error=(result.error or "")[:1000] or None,
            )
        )
        details: dict[str, object] = {
            "channel": notice.channel,
            "stage": notice.stage,
            "attempt": notice.attempts,
        }
        if result.ok:
            finish(notice, NoticeStatus.SENT, None)
            notice.sent_at, notice.provider_id = now, result.provider_id
            action = "notice.sent"
        elif result.permanent or notice.attempts >= MAX_ATTEMPTS:
            finish(notice, NoticeStatus.FAILED, result.error or "provider refused")
            action, details["reason"] = "notice.failed", notice.status_reason
            failed_text = notice
            if result.permanent and result.address_rejected:
                # The mailbox (or number) does not exist: nothing proactive goes there again until the
                # customer's address changes or staff clear it (within the hour's limit on such marks).
                source = PROVIDER_SOURCE.get(notice.channel, notice.channel)
                details["address_suppressed"] = refusals.take(session, source)
                if details["address_suppressed"]:
                    suppressions.suppress(
                        session,
                        channel=notice.channel,
                        address=notice.recipient,
                        reason=notice.status_reason or "provider refused the address",
                        source=source,
                        actor="system",
                        at=now,
                    )
        else:
            delay = backoff(notice.attempts, result.retry_after, jitter=jitter)
            notice.status, notice.send_at, notice.enqueued_at = NoticeStatus.PENDING, now + delay, None
            notice.status_reason = f"retrying: {result.error}"[:500]
            action, details["retry_at"] = "notice.retry_scheduled", notice.send_at
        audit.append(session, at=now, actor="system", action=action, subject=f"notice:{notice_id}", details=details)
        refusals.report_withheld(session)
        if failed_text is not None and failed_text.channel == "sms":
            after_text_failed(session, rt, failed_text, error=failed_text.status_reason or "")
        return DeliveryOutcome(notice.status, result.error)


def after_text_failed(session: Session, rt: Runtime, notice: Notice, *, error: str) -> None:
    """A text failed for good: honour an unsubscribed number (21610), stop texting a number that cannot
    take texts (21211, 21614), then try email instead."""
    code = error.removeprefix("twilio ").split(":", 1)[0].strip() if error.startswith("twilio ") else ""
    if code == TWILIO_UNSUBSCRIBED:
        set_sms_opt_out_for_number(
            session,
            phone=notice.recipient,
            opted_out=True,
            actor="twilio",
            at=rt.clock.now(),
            reason=f"twilio {TWILIO_UNSUBSCRIBED}: the number replied STOP",
        )
    elif code in suppressions.TWILIO_CANNOT_TEXT:
        # Listed like a STOP (staff see it and can lift it once the customer's number is corrected), but
        # it is not the customer's choice, so no opt-out lands on their timeline.
        suppressions.suppress(
            session,
            channel="sms",
            address=notice.recipient,
            reason=f"twilio {code}: {suppressions.TWILIO_CANNOT_TEXT[code]}",
            source="twilio",
            actor="twilio",
            at=rt.clock.now(),
        )
    for failed in carried(session, notice):  # a digest's news falls back thread by thread
        plan_email_fallback(session, rt, failed, reason=error)


def finish(notice: Notice, status: NoticeStatus, reason: str | None) -> None:
    notice.status, notice.status_reason = status, reason[:500] if reason else None


def backoff(attempts: int, retry_after: float | None, *, jitter: bool) -> timedelta:
    """Exponential from 30 s, capped at an hour; a provider's Retry-After wins when longer."""
    base = min(30.0 * 2 ** (attempts - 1), 3600.0)
    if jitter:
        base *= random.uniform(0.8, 1.2)
    return timedelta(seconds=max(base, retry_after or 0.0))
