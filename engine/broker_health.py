"""Whether the broker has been answering: the API refuses webhooks (503) once it has not for a while.

A webhook stored while the broker is away is not lost: its row is the truth and the outbox relay queues
its job once the broker is back. But a broker that stays away means nothing gets applied or sent, and the
sender — which retries on 503 anyway — is the better place for the backlog than a relay that must find it
later. So for the first `grace` seconds of an outage webhooks are still stored and answered 202 (a broker
restart passes unnoticed); after that they are answered 503 with `Retry-After`, nothing stored, until a
send or a probe goes through again.

Durations here are the process's monotonic clock: how long the broker has been silent is not engine time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# While refusing, the broker is asked again at most this often (by one request; the others answer 503).
PROBE_EVERY_SECONDS = 1.0


class BrokerHealth:
    def __init__(self, *, grace_seconds: float, ping: Callable[[], None] | None = None) -> None:
        self.grace_seconds = grace_seconds
        self.ping = ping
        self.down_since: float | None = None
        self._last_probe = 0.0
        self._probing = threading.Lock()

    def answered(self) -> None:
        """A job went to the broker (or a ping came back)."""
        self.down_since = None

    def failed(self) -> None:
        """A job could not be queued: the outage starts now, unless it started before."""
        if self.down_since is None:
            self.down_since = time.monotonic()

    def past_grace(self) -> bool:
        """True once the broker has been silent for longer than the grace (cheap: fine on the event loop)."""
        since = self.down_since
        return since is not None and time.monotonic() - since > self.grace_seconds

    def probe(self) -> bool:
        """Ask the broker whether it answers again (blocking: call it off the event loop); True if it did.

        One request probes at most once a second; the others meanwhile are told False at once."""
        if self.ping is None or not self._probing.acquire(blocking=False):
            return False
        try:
            if time.monotonic() - self._last_probe < PROBE_EVERY_SECONDS:
                return False
            self._last_probe = time.monotonic()
            self.ping()
        except Exception:
            return False
        finally:
            self._probing.release()
        self.answered()
        return True

    def silent_for(self) -> float:
        """Seconds the broker has been silent (0 while it answers)."""
        since = self.down_since
        return 0.0 if since is None else time.monotonic() - since
