"""Frequency cap: at most FOREWARN_MAX_NOTICES_PER_DAY proactive notices per customer and channel in any
rolling 24 hours; more news than that is merged into one message instead of being dropped.

Counted per channel: a customer told about one thing by email and by SMS has used one of each.

A `resolved` follow-up ("it arrived — thank you for your patience") neither counts nor waits. It only
ever answers a warning we sent (one per thread), it is good news the customer is waiting for, and
holding it would leave them believing the problem goes on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.vocabulary import Stage

WINDOW = timedelta(hours=24)
UNCAPPED_STAGES = frozenset({Stage.RESOLVED})


def counts_against_cap(stage: str) -> bool:
    return stage not in UNCAPPED_STAGES


@dataclass(frozen=True)
class Quota:
    limit: int  # 0 or less: no cap
    used: int  # messages that went out in the window
    frees_at: datetime | None  # when a slot opens again, if none is open now

    @property
    def capped(self) -> bool:
        return self.limit > 0

    @property
    def remaining(self) -> int:
        """Slots open now (a large number when there is no cap)."""
        return max(self.limit - self.used, 0) if self.capped else 1 << 30


def quota(sent_at: Iterable[datetime], *, limit: int, now: datetime, window: timedelta = WINDOW) -> Quota:
    """How much of the rolling window the messages sent at `sent_at` use up at `now`."""
    recent = sorted(t for t in sent_at if now - window < t <= now)
    used = len(recent)
    if limit <= 0 or used < limit:
        return Quota(limit, used, None)
    # The window slides: a slot opens when enough of the oldest messages have aged out of it.
    return Quota(limit, used, recent[used - limit] + window)


def should_merge(quota: Quota, due: int) -> bool:
    """More notices are due at once than there are slots left: they go as one message."""
    return quota.capped and due > 1 and due > quota.remaining
