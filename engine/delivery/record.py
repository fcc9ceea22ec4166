"""Record what the providers said for a chunk of sent notices, in one transaction.

Idempotent: only notices still `sending` under the same claim are recorded (locked first), so a job
retried after its record failed, the scheduler's reconciling, and the worker itself may all try and
only one writes. The attempts themselves were written as each message went (`engine.delivery.ledger`).

`sent` with the provider's id; a transient failure is retried with exponential backoff (honouring
`Retry-After`) up to MAX_ATTEMPTS; a permanent one fails the notice. An address the provider says can
never receive is suppressed (within the hour's limit on such marks), a recipient who opted out at the
provider is opted out here too, and a text that failed for good may become an email
(`engine.delivery.fallback`). See docs/delivery.md.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import update as update_rows
from sqlmodel import Session

from engine import audit
from engine.audit import Entry
from engine.db.bulk import table_of
from engine.delivery.breaker import breakers
from engine.delivery.channel import SendResult
from engine.delivery.fallback import plan_email_fallback
from engine.delivery.merging import carried
from engine.logmask import redact
from engine.models import Notice
from engine.notices import repository
from engine.notices.journal import notice_entry
from engine.preferences.service import opt_out_address
from engine.runtime import Runtime
from engine.suppressions import service as suppressions
from engine.vocabulary import Channel, NoticeStatus, SuppressionKind

MAX_ATTEMPTS = 5


def record(rt: Runtime, results: list[tuple[Notice, SendResult]], report: Counter[str], *, jitter: bool) -> None:
    """Write attempts, statuses and audit entries for the whole chunk, then act on what failed for good."""
    with rt.unit_of_work() as session:
        now = rt.clock.now()
        claims = repository.lock_sending(session, [notice.id for notice, _ in results if notice.id is not None])
        results = [(n, r) for n, r in results if n.id in claims and claims[n.id] == n.claimed_at]
        sent: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        retrying: list[dict[str, Any]] = []
        entries: list[Entry] = []
        refusals = suppressions.RefusalLimit(rt.settings.max_refused_addresses_per_hour, now=now)
        gone: list[Failure] = []
        gates = breakers(rt)
        for notice, result in results:
            assert notice.id is not None
            details: dict[str, Any] = {"attempt": notice.attempts}
            # A transient failure while the provider's breaker is open says the provider is down, not
            # that this message cannot go: the attempt is given back and the message waits for it.
            down = not result.ok and not result.permanent and gates.is_open(rt.provider_of(notice.channel))
            if result.ok:
                sent.append({"nid": notice.id, "provider_id": result.provider_id})
                action = "notice.sent"
            elif result.permanent or (notice.attempts >= MAX_ATTEMPTS and not down):
                reason = (result.error or "provider refused")[:500]
                failed.append({"nid": notice.id, "status_reason": reason})
                # The notice keeps the provider's words (erasable); the chain gets them with addresses masked.
                action, details["reason"] = "notice.failed", redact(reason)
                failure = Failure(notice, result, rt.provider_of(notice.channel))
                if failure.rejects_address:
                    details["address_suppressed"] = failure.suppress = refusals.take(session, failure.provider)
                gone.append(failure)
            else:
                retry_at = now + backoff(notice.attempts, result.retry_after, jitter=jitter)
                retrying.append(
                    {
                        "nid": notice.id,
                        "send_at": retry_at,
                        "status_reason": f"{'waiting' if down else 'retrying'}: {result.error}"[:500],
                        "attempts": notice.attempts - 1 if down else notice.attempts,
                    }
                )
                action, details["retry_at"] = "notice.retry_scheduled", retry_at
            entries.append(notice_entry(notice, action, at=now, **details))
        _update_each(session, sent, status=NoticeStatus.SENT, sent_at=now, status_reason=None)
        _update_each(session, failed, status=NoticeStatus.FAILED)
        _update_each(session, retrying, status=NoticeStatus.PENDING, enqueued_at=None)
        audit.append_many(session, entries)
        refusals.report_withheld(session)
        after_failures(session, rt, gone)
        report["sent"] += len(sent)
        report["failed"] += len(failed)
        report["retrying"] += len(retrying)


@dataclass
class Failure:
    """A notice that failed for good, what its provider said, and whether its address is to be marked."""

    notice: Notice
    result: SendResult
    provider: str
    suppress: bool = False  # the address may be marked undeliverable (within the hour's limit)

    @property
    def rejects_address(self) -> bool:
        return self.result.permanent and self.result.address_rejected and not self.result.opted_out


def after_failures(session: Session, rt: Runtime, gone: list[Failure]) -> None:
    """Honour what the providers said of the failed notices' addresses, then try email for a failed text."""
    now = rt.clock.now()
    for failure in gone:
        notice, result = failure.notice, failure.result
        note = result.address_note or result.error or "the provider refused the address"
        if result.opted_out:
            opt_out_address(
                session, channel=notice.channel, address=notice.recipient, actor=failure.provider, at=now, reason=note
            )
        elif failure.suppress:
            # The mailbox (or number) cannot receive: nothing proactive goes there again until the
            # customer's address changes or staff clear it.
            suppressions.suppress(
                session,
                channel=notice.channel,
                address=notice.recipient,
                reason=note,
                source=failure.provider,
                kind=SuppressionKind.UNDELIVERABLE,
                actor="system",
                at=now,
            )
    for failure in gone:
        if failure.notice.channel == Channel.SMS:
            text = session.get(Notice, failure.notice.id)
            reason = (failure.result.error or "provider refused")[:500]
            for original in carried(session, text) if text is not None else []:
                plan_email_fallback(session, rt, original, reason=reason)  # a digest's news, thread by thread


def backoff(attempts: int, retry_after: float | None, *, jitter: bool) -> timedelta:
    """Exponential from 30 s, capped at an hour; a provider's Retry-After wins when longer."""
    base = min(30.0 * 2 ** (attempts - 1), 3600.0)
    if jitter:
        base *= random.uniform(0.8, 1.2)
    return timedelta(seconds=max(base, retry_after or 0.0))


def _update_each(session: Session, rows: list[dict[str, Any]], **fixed: Any) -> None:
    """One executemany UPDATE: each row's own values (its keys besides `nid`) plus `fixed` for all."""
    if not rows:
        return
    table = table_of(Notice)
    own: dict[str, Any] = {key: bindparam(f"v_{key}") for key in rows[0] if key != "nid"}
    statement = update_rows(table).where(table.c.id == bindparam("nid")).values(**own, **fixed)
    session.execute(statement, [{f"v_{k}" if k != "nid" else k: v for k, v in row.items()} for row in rows])
