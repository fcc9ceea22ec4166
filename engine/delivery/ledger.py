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

On PostgreSQL that transaction is one statement (the attempt's INSERT in a WITH, then the UPDATE) on a
connection the ledger holds for its chunk (`Runtime.statement_connection`, autocommit): one round trip
per message instead of a pool checkout and its liveness ping, BEGIN, INSERT, UPDATE and COMMIT. Elsewhere
(SQLite, the replay's runtime) it is a unit of work, as every other write.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, insert, update
from sqlalchemy.engine import Connection

from engine.db.bulk import table_of
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
_NOTICES, _ATTEMPTS = table_of(Notice), table_of(DeliveryAttempt)
_ROW = ("notice_id", "attempted_at", "claimed_at", "outcome", "provider_id", "error", "result")
# Built once (the held connection's path runs them per message): building a statement costs more than
# sending it.
_WRITE = insert(_ATTEMPTS).values({name: bindparam(f"a_{name}", type_=_ATTEMPTS.c[name].type) for name in _ROW})
_MARK = (
    update(_NOTICES)
    .where(
        _NOTICES.c.id == bindparam("m_id", type_=_NOTICES.c.id.type),
        _NOTICES.c.status == NoticeStatus.SENDING,
        _NOTICES.c.claimed_at == bindparam("m_claimed_at", type_=_NOTICES.c.claimed_at.type),
    )
    .values(attempted_at=bindparam("m_now", type_=_NOTICES.c.attempted_at.type))
)
_WRITE_AND_MARK = _MARK.add_cte(_WRITE.cte("written"))
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
    """One worker thread's writing-down of its sends, message by message. Close it (or use it as a context
    manager) when the chunk is done: it may hold a connection."""

    def __init__(self, rt: Runtime, *, patience: float = LEDGER_PATIENCE) -> None:
        self.rt = rt
        self.patience = patience
        self._unwritten: tuple[Notice, SendResult, datetime] | None = None
        self._connection: Connection | None = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def start(self, notice: Notice) -> bool:
        """Write down the previous result and mark `notice` as being handed over; False when the claim is
        no longer ours (nothing may be sent)."""
        taken = self._patiently(lambda: self._mark(notice))
        self._unwritten = None
        return taken

    def done(self, notice: Notice, result: SendResult) -> None:
        """Keep the result until the next `start` (or `flush`) writes it, in the same transaction."""
        self._unwritten = (notice, result, self.rt.clock.now())

    def flush(self) -> None:
        if self._unwritten is not None:
            self._patiently(self._write_alone)
            self._unwritten = None

    def close(self) -> None:
        """Give back the connection the ledger held, if any (after `flush`)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _mark(self, notice: Notice) -> bool:
        """One transaction: the previous result's row, and `notice` marked as handed over if still ours."""
        now = self.rt.clock.now()
        params = {"m_id": notice.id, "m_claimed_at": notice.claimed_at, "m_now": now}
        held = self._held()
        if held is not None:  # one statement, so one round trip: the previous row goes in a WITH
            if self._unwritten is None:
                taken = held.execute(_MARK, params).rowcount
            else:
                taken = held.execute(_WRITE_AND_MARK, {**params, **_prefixed(self._unwritten_row())}).rowcount
            held.commit()
        else:
            with self.rt.unit_of_work() as session:
                if self._unwritten is not None:
                    session.connection().execute(_WRITE, _prefixed(self._unwritten_row()))
                taken = session.connection().execute(_MARK, params).rowcount
        if taken:
            notice.attempted_at = now
        return bool(taken)

    def _write_alone(self) -> None:
        held = self._held()
        if held is not None:
            held.execute(_WRITE, _prefixed(self._unwritten_row()))
            held.commit()
            return
        with self.rt.unit_of_work() as session:
            session.connection().execute(_WRITE, _prefixed(self._unwritten_row()))

    def _unwritten_row(self) -> dict[str, Any]:
        assert self._unwritten is not None
        notice, result, at = self._unwritten
        return attempt_row(notice, result, at=at)

    def _held(self) -> Connection | None:
        if self._connection is None:
            self._connection = self.rt.statement_connection()
        return self._connection

    def _patiently(self, write: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.patience
        pause = 0.25
        while True:
            try:
                return write()
            except Exception as error:
                if self._connection is not None:  # a connection that failed is not trusted again
                    self._connection.invalidate()
                    self.close()
                if not is_outage(error) or time.monotonic() + pause > deadline:
                    raise
                log.warning("could not write a delivery result (%s); trying again", describe(error)[0])
                time.sleep(pause)
                pause = min(pause * 2, 5.0)


def _prefixed(row: dict[str, Any]) -> dict[str, Any]:
    return {f"a_{name}": row[name] for name in _ROW}


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
