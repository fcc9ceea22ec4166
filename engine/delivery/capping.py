"""The daily cap at the moment of sending: send, hold, or merge (FOREWARN_MAX_NOTICES_PER_DAY).

Decided when a worker claims a notice, under the customer's row lock, because that is the one moment
that knows what really went out: planning stays as it was, and two workers can never both take the
last slot. For a warning (`initial`/`update`) or a digest:

- no slot left in the rolling 24 hours → **held**: it stays `pending` with `send_at` moved to when a
  slot opens (for a text, then past the recipient's quiet hours), `status_reason` "held: …", audited
  `notice.held`;
- more warnings due at once than slots left (held ones coming due together, say) → **merged** into one
  message (`engine/notices/merging.py`);
- otherwise it goes; one that was held is rendered again first, so its dates read right.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from engine.clock import format_instant
from engine.delivery import merging
from engine.models import Customer, Notice
from engine.notices import repository
from engine.notices.journal import log_notice
from engine.policy.frequency import WINDOW, Quota, counts_against_cap, quota, should_merge
from engine.policy.quiet_hours import defer
from engine.runtime import Runtime
from engine.vocabulary import Channel, SituationKind

HELD = "held: "  # status_reason prefix of a notice waiting for a slot


def is_held(notice: Notice) -> bool:
    return (notice.status_reason or "").startswith(HELD)


def apply_cap(session: Session, rt: Runtime, notice: Notice, *, now: datetime) -> Notice | None:
    """The notice to send now in place of `notice` (itself, or the message it was merged into), or None
    when it was held. The caller holds the customer's row lock and has locked `notice`."""
    limit = rt.settings.max_notices_per_day
    if limit <= 0 or not counts_against_cap(notice.stage):
        return notice
    sent = repository.sent_times(session, customer_id=notice.customer_id, channel=notice.channel, since=now - WINDOW)
    usage = quota(sent, limit=limit, now=now)
    if usage.frees_at is not None:
        _hold(session, rt, notice, usage, until=usage.frees_at, now=now)
        return None
    if notice.attempts == 0 and notice.situation != SituationKind.DIGEST:
        due = merging.candidates(session, notice, now=now)
        if should_merge(usage, len(due)):
            carrier = merging.merge(session, rt, due, now=now)
            if carrier is not None:
                return carrier
    if is_held(notice):
        merging.refresh(session, rt, notice, now=now)
    return notice


def _hold(session: Session, rt: Runtime, notice: Notice, usage: Quota, *, until: datetime, now: datetime) -> None:
    customer = session.get(Customer, notice.customer_id)
    if notice.channel == Channel.SMS and customer is not None:
        until = defer(until, timezone=customer.timezone, window=customer.quiet_hours or rt.settings.quiet_hours)
    notice.send_at, notice.deferred, notice.enqueued_at = until, True, None
    notice.status_reason = (
        f"{HELD}{usage.used} {notice.channel} notices to this customer in the last 24 h (limit {usage.limit}); "
        f"goes out at {format_instant(until)}, merged with any others due then"
    )[:500]
    log_notice(
        session,
        notice,
        "notice.held",
        at=now,
        customer_id=notice.customer_id,
        limit=usage.limit,
        used=usage.used,
        send_at=until,
        reason="daily limit reached",
    )
