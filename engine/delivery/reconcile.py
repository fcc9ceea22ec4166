"""Nothing claimed is forgotten or stranded: settle what the ledger knows, put back what was never sent.

Three callers:

- a delivery job, before it claims anything (`settle`): notices of its own ids still `sending` whose
  result the ledger holds — the job ran before and its record step failed (a database blip) — are
  recorded now;
- the scheduler's tick (`reconcile_stranded`), for notices claimed longer ago than FOREWARN_RELAY_AFTER
  and still `sending` (a worker killed, a machine gone):
  - a result in the ledger → recorded, as the worker would have;
  - never handed over (`attempted_at` before the claim) → back to `pending` with its attempt given back,
    audited `notice.released`, and queued again by the relay;
  - handed over with no result written, before `attempted_before` → the one message per worker
    thread that was in the provider's hands when the worker stopped: `sent`, with `status_reason`
    "unconfirmed: …" and `notice.unconfirmed` in the audit log, never sent again (at most once);
    `/metrics` counts them (`forewarn_notices_unconfirmed`);
- delivery itself, when a provider's breaker is open (`put_back`).

Every write re-checks, under the row lock, that the notice is still `sending` under the same claim, so a
slow worker that is alive after all and the reconciler never both act on one notice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from engine import audit
from engine.delivery.ledger import result_of
from engine.delivery.record import record
from engine.models import Notice
from engine.notices import repository
from engine.notices.journal import notice_entry
from engine.runtime import Runtime
from engine.vocabulary import NoticeStatus

UNCONFIRMED = "unconfirmed: the worker stopped while handing it to the provider; check the provider's log"
RELEASED = "released: the worker that claimed it stopped before sending it"


def settle(rt: Runtime, notice_ids: Sequence[int], report: Counter[str], *, jitter: bool = True) -> None:
    """Record the notices among `notice_ids` that are `sending` with a result in the ledger."""
    with rt.unit_of_work() as session:
        sending = repository.sending_among(session, notice_ids)
        found = repository.ledger_results(session, sending) if sending else {}
        results = [(n, result_of(found[n.id])) for n in sending if n.id in found]
    if results:
        record(rt, results, report, jitter=jitter)
        report["settled"] += len(results)


def reconcile_stranded(
    rt: Runtime, *, claimed_before: datetime, attempted_before: datetime, limit: int = 1000
) -> Counter[str]:
    """Settle or release the notices claimed before `claimed_before` and still `sending`; call unconfirmed
    those handed over before `attempted_before` with no result written (later than the claim cut-off: a
    provider can take a while to answer, and a worker waits out a database blip before it gives up
    writing the result)."""
    report: Counter[str] = Counter()
    now = rt.clock.now()
    with rt.unit_of_work() as session:
        stuck = repository.sending_claimed_before(session, before=claimed_before, limit=limit)
        found = repository.ledger_results(session, stuck)
        ledgered = [(n, result_of(found[n.id])) for n in stuck if n.id in found]
        never = [n for n in stuck if n.id not in found and not _attempted(n)]
        if never:
            put_back(session, never, send_at=now, reason=RELEASED, action="notice.released", at=now)
            report["released"] += len(never)
        unconfirmed = [
            n
            for n in stuck
            if n.id not in found and _attempted(n) and n.attempted_at and n.attempted_at < attempted_before
        ]
        for notice in unconfirmed:
            notice.status, notice.status_reason, notice.sent_at = NoticeStatus.SENT, UNCONFIRMED, notice.attempted_at
        audit.append_many(
            session,
            [
                notice_entry(n, "notice.unconfirmed", at=now, attempt=n.attempts, reason=UNCONFIRMED)
                for n in unconfirmed
            ],
        )
        report["unconfirmed"] += len(unconfirmed)
    if ledgered:
        record(rt, ledgered, report, jitter=True)
        report["settled"] += len(ledgered)
    return report


def _attempted(notice: Notice) -> bool:
    """Handed over (or being handed over) during its current claim."""
    return (
        notice.attempted_at is not None and notice.claimed_at is not None and notice.attempted_at >= notice.claimed_at
    )


def put_back(
    session: Session, notices: Sequence[Notice], *, send_at: datetime, reason: str, action: str, at: datetime
) -> None:
    """Claimed notices that were not handed over go back to `pending`, their attempt given back, due at
    `send_at` and unqueued (the relay queues them once due). Caller holds their row locks or claim."""
    for notice in notices:
        notice.status, notice.status_reason = NoticeStatus.PENDING, reason[:500]
        notice.send_at, notice.claimed_at, notice.enqueued_at = send_at, None, None
        notice.attempts = max(notice.attempts - 1, 0)
    audit.append_many(session, [notice_entry(n, action, at=at, reason=reason[:500], send_at=send_at) for n in notices])


def hold_for_provider(rt: Runtime, held: Sequence[tuple[Notice, datetime]], provider_reason: str) -> int:
    """Put back claimed notices whose provider's breaker is open, each due when it may try again; only
    those still under this worker's claim. Returns how many."""
    now = rt.clock.now()
    with rt.unit_of_work() as session:
        claims = repository.lock_sending(session, [n.id for n, _ in held if n.id is not None])
        mine = [
            (row, at)
            for n, at in held
            if n.id in claims and claims[n.id] == n.claimed_at and (row := session.get(Notice, n.id)) is not None
        ]
        for until in sorted({at for _, at in mine}):
            put_back(
                session,
                [n for n, at in mine if at == until],
                send_at=until,
                reason=provider_reason,
                action="notice.retry_scheduled",
                at=now,
            )
    return len(mine)
