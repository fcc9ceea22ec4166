"""A circuit breaker per provider: while a provider is down, hold its messages instead of burning their
attempts.

Before, an SMTP outage longer than about eight minutes failed every queued email for good: each notice
was tried, failed, backed off and tried again until its fifth attempt. Now, after transient failures of
THRESHOLD different messages in a row from one provider (one message failing again and again is that
message's trouble, not the provider's), this process stops handing it messages for a cooldown (30 s,
doubling to 5 minutes while it stays down); the messages claimed meanwhile go back to `pending` with
`send_at` at the end of the cooldown and no attempt counted (`engine.delivery.reconcile.put_back`). When
the cooldown ends, one message is let through as a probe: success closes the breaker, a failure opens it
again for longer. A permanent refusal (a mailbox that does not exist) says the provider is up.

Per process and in memory: each worker learns of an outage from its own five failures, which costs
five attempts per worker, and nothing is shared that could itself fail. Times are the engine's clock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from engine.delivery.channel import SendResult
from engine.runtime import Runtime

THRESHOLD = 5
FIRST_COOLDOWN = timedelta(seconds=30)
MAX_COOLDOWN = timedelta(minutes=5)
# While a probe is out, the others wait this long before they are claimed again.
PROBE_WAIT = timedelta(seconds=15)


@dataclass
class _State:
    failing: set[int] = field(default_factory=set)  # the messages in the current run of failures
    cooldown: timedelta = FIRST_COOLDOWN
    retry_at: datetime | None = None  # set while open
    probing: bool = False


class Breakers:
    """Every provider's breaker in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, _State] = {}

    def admit(self, provider: str, *, now: datetime) -> datetime | None:
        """None: hand this provider the message. Otherwise when to try again."""
        with self._lock:
            state = self._states.get(provider)
            if state is None or state.retry_at is None:
                return None
            if now < state.retry_at:
                return state.retry_at
            if state.probing:
                return now + PROBE_WAIT
            state.probing = True
            return None

    def report(self, provider: str, notice_id: int, result: SendResult, *, now: datetime) -> None:
        """What the provider answered a message it was handed."""
        down = not result.ok and not result.permanent
        with self._lock:
            state = self._states.setdefault(provider, _State())
            if not down:
                self._states[provider] = _State()
                return
            state.failing.add(notice_id)
            if state.probing or (state.retry_at is None and len(state.failing) >= THRESHOLD):
                if state.probing:
                    state.cooldown = min(state.cooldown * 2, MAX_COOLDOWN)
                state.retry_at, state.probing = now + state.cooldown, False

    def is_open(self, provider: str) -> bool:
        with self._lock:
            state = self._states.get(provider)
            return state is not None and state.retry_at is not None


def breakers(rt: Runtime) -> Breakers:
    """This process's breakers (one set per runtime)."""
    found = rt.memo.get("breakers")
    if not isinstance(found, Breakers):
        found = rt.memo.setdefault("breakers", Breakers())
    assert isinstance(found, Breakers)
    return found
