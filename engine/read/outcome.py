"""Where a notice stands, in one plain sentence: sent, on its way, waiting (and for what), or not sent and
why — quiet hours, the daily limit, merged into notice N, fixed before it went, opted out, paused.

Read from the row (status, reason, times) and the pause switch; the words name only what the engine
recorded, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.brakes.pause import PauseState
from engine.clock import format_instant
from engine.delivery.capping import is_held
from engine.delivery.channel import FINAL
from engine.delivery.merging import FIXED
from engine.delivery.provider_status import provider_status
from engine.models import Notice
from engine.vocabulary import NoticeStatus

RETRYING = "retrying: "  # status_reason of a notice waiting to be tried again (engine/delivery/record.py)
TEMPLATE_ERROR = "template error"
BEFORE_SENT = "before it was sent"  # a thread's news overtook it (resolved, or replaced by newer news)


@dataclass(frozen=True)
class Outcome:
    state: str  # sent | sending | waiting | not_sent
    reason: str  # one word: delivered, sent, claimed, paused, daily_limit, retrying, quiet_hours, scheduled, due,
    #              merged, fixed, overtaken, opted_out, undeliverable, failed, template_error, dropped
    words: str
    merged_into: int | None = None

    def as_json(self) -> dict[str, object]:
        return {"state": self.state, "reason": self.reason, "words": self.words, "merged_into": self.merged_into}


def outcome(notice: Notice, *, pause: PauseState, now: datetime) -> Outcome:
    if notice.status == NoticeStatus.SENT:
        return _sent(notice)
    if notice.status == NoticeStatus.SENDING:
        claimed = format_instant(notice.claimed_at) if notice.claimed_at else "?"
        return Outcome(
            "sending", "claimed", f"A worker took it at {claimed}; the provider's answer is not recorded yet."
        )
    if notice.status == NoticeStatus.MERGED:
        words = f"Merged into notice {notice.merged_into}: its news went out in that message."
        return Outcome("not_sent", "merged", words, notice.merged_into)
    if notice.status == NoticeStatus.FAILED:
        reason = notice.status_reason or "the provider refused it"
        kind = "template_error" if reason.startswith(TEMPLATE_ERROR) else "failed"
        return Outcome("not_sent", kind, f"Failed: {reason}.")
    if notice.status == NoticeStatus.DROPPED:
        return _dropped(notice.status_reason or "")
    return _waiting(notice, pause=pause, now=now)


def _sent(notice: Notice) -> Outcome:
    at = format_instant(notice.sent_at) if notice.sent_at else "?"
    reported = provider_status(notice)
    if reported in FINAL:
        return Outcome("sent", "delivered", f"Sent at {at}; the provider reports it {reported}.")
    tail = f"; the provider last reported it {reported}" if reported else ""
    return Outcome("sent", "sent", f"Sent at {at}{tail}.")


def _dropped(reason: str) -> Outcome:
    lowered = reason.lower()
    if reason == FIXED or (lowered.endswith(BEFORE_SENT) and "replaced" not in lowered):
        return Outcome("not_sent", "fixed", f"Not sent: fixed before it went ({reason}).")
    if lowered.endswith(BEFORE_SENT):
        return Outcome("not_sent", "overtaken", f"Not sent: {reason}.")
    if "opted out" in lowered or "suppressed by" in lowered:
        return Outcome("not_sent", "opted_out", f"Not sent: the recipient opted out ({reason}).")
    if "cannot receive" in lowered or "undeliverable" in lowered:
        return Outcome("not_sent", "undeliverable", f"Not sent: the address cannot receive it ({reason}).")
    return Outcome("not_sent", "dropped", f"Not sent: {reason or 'dropped'}.")


def _waiting(notice: Notice, *, pause: PauseState, now: datetime) -> Outcome:
    at = format_instant(notice.send_at)
    if pause.paused:
        since = format_instant(pause.updated_at) if pause.updated_at else "?"
        why = f": {pause.reason}" if pause.reason else ""
        return Outcome("waiting", "paused", f"Waiting: sending is paused (by {pause.updated_by} since {since}{why}).")
    if is_held(notice):
        return Outcome("waiting", "daily_limit", f"Waiting for the daily limit: goes at {at}.")
    if (notice.status_reason or "").startswith(RETRYING):
        return Outcome("waiting", "retrying", f"Waiting to try again at {at} ({notice.status_reason}).")
    if notice.send_at > now and notice.deferred:
        return Outcome("waiting", "quiet_hours", f"Waiting for the recipient's quiet hours to end: goes at {at}.")
    if notice.send_at > now:
        return Outcome("waiting", "scheduled", f"Scheduled for {at}.")
    return Outcome("waiting", "due", "Due now: waiting for a worker to take it.")
