"""Write each send down as it goes, so that neither a crash nor a database blip forgets what went out.

Before, a chunk's 25 results lived in memory until one transaction recorded them: a failed commit lost
what the provider had accepted (the notices stayed `sending` for ever), and a worker killed mid-chunk
left notices it had never handed over indistinguishable from those it had. Now, per message, one small
transaction (`Ledger.start`) does two things:

- writes down the previous message's result: a `delivery_attempts` row holding the provider's whole
  answer (`result`), enough to record the notice from that row alone (`engine.delivery.reconcile`);
- marks this message as being handed over (`notices.attempted_at`), only if the claim is still the
  worker's own (`status = sending` and the same `claimed_at`): a claim the scheduler took back from a
  worker it thought dead is never sent by that worker too.

So after any stop, a `sending` notice is one of: attempted and written down (recorded from its row),
never attempted (`attempted_at` older than its claim: back to `pending`), or attempted with no result
written — the one message per worker thread that was in the provider's hands when it stopped.

A database blip while writing is waited out here (in-process, up to LEDGER_PATIENCE): the result is only
in memory until it is written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import insert, update
from sqlmodel import Session, col

from engine.delivery.channel import SendResult
from engine.models import DeliveryAttempt, Notice
from engine.quarantine import describe, is_outage
from engine.runtime import Runtime
from engine.vocabulary import NoticeStatus

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long a worker keeps a result it could not write, retrying, before giving up on it (the notice is
# then reconciled as unconfirmed). Waits are wall time: a database outage is not business time.
LEDGER_PATIENCE = 120.0
_OUTCOME_FIELDS = ("permanent", "code", "retry_after", "address_rejected", "opted_out", "address_note")


def outcome_of(result: SendResult) -> str:
    return "sent" if result.ok else ("rejected" if result.permanent else "transient")


def result_of(attempt: DeliveryAttempt) -> SendResult:
    """The SendResult a ledger row was written from."""
    extra = attempt.result or {}
    return SendResult(
        ok=attempt.outcome == "sent",
        provider_id=attempt.provider_id,
        error=attempt.error,
        **{name: extra[name] for name in _OUTCOME_FIELDS if name in extra},
    )


class Ledger:
    """One worker thread's writing-down of its sends, message by message."""

    def __init__(self, rt: Runtime, *, patience: float = LEDGER_PATIENCE) -> None:
        self.rt = rt
        self.patience = patience
        self._unwritten: tuple[Notice, SendResult, datetime] | None = None

    def start(self, notice: Notice) -> bool:
        """Write down the previous result and mark `notice` as being handed over; False when the claim is
        no longer ours (nothing may be sent)."""

        def write(session: Session) -> bool:
            self._write_unwritten(session)
            now = self.rt.clock.now()
            taken = (
                session.connection()
                .execute(
                    update(Notice)
                    .where(
                        col(Notice.id) == notice.id,
                        col(Notice.status) == NoticeStatus.SENDING,
                        col(Notice.claimed_at) == notice.claimed_at,
                    )
                    .values(attempted_at=now)
                )
                .rowcount
            )
            if taken:
                notice.attempted_at = now
            return bool(taken)

        taken = self._patiently(write)
        self._unwritten = None
        return taken

    def done(self, notice: Notice, result: SendResult) -> None:
        """Keep the result until the next `start` (or `flush`) writes it, in the same transaction."""
        self._unwritten = (notice, result, self.rt.clock.now())

    def flush(self) -> None:
        if self._unwritten is not None:
            self._patiently(self._write_unwritten)
            self._unwritten = None

    def _write_unwritten(self, session: Session) -> None:
        if self._unwritten is None:
            return
        notice, result, at = self._unwritten
        session.execute(insert(DeliveryAttempt).values(**attempt_row(notice, result, at=at)))

    def _patiently(self, write: Callable[[Session], T]) -> T:
        deadline = time.monotonic() + self.patience
        pause = 0.25
        while True:
            try:
                with self.rt.unit_of_work() as session:
                    return write(session)
            except Exception as error:
                if not is_outage(error) or time.monotonic() + pause > deadline:
                    raise
                log.warning("could not write a delivery result (%s); trying again", describe(error)[0])
                time.sleep(pause)
                pause = min(pause * 2, 5.0)


def attempt_row(notice: Notice, result: SendResult, *, at: datetime) -> dict[str, Any]:
    extra = {k: v for k, v in asdict(result).items() if k in _OUTCOME_FIELDS and v not in (None, False)}
    return {
        "notice_id": notice.id,
        "attempted_at": notice.attempted_at or at,
        "claimed_at": notice.claimed_at,
        "outcome": outcome_of(result),
        "provider_id": result.provider_id,
        "error": (result.error or "")[:1000] or None,
        "result": extra or None,
    }
