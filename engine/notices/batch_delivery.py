"""Deliver many notices per job (`notices.deliver_batch`): claim a chunk of them in one transaction (one
SELECT … FOR UPDATE, one UPDATE), send each, record the chunk's results in one transaction.

The same rules as `engine.notices.delivery`, per notice: only a `pending`, due notice is claimed (so a
redelivered job, or two workers given the same ids, never send one twice); nothing is claimed while
sending is paused; a warning whose problem was fixed meanwhile is dropped instead; a transient failure
is retried with backoff up to MAX_ATTEMPTS, a permanent one fails (and a failed text may become an
email). What batching saves is the per-notice overhead: two transactions, an ORM load and an audit
head lookup per notice become two transactions and one multi-row write per chunk.

The crash window is the one documented for single delivery, per chunk: a worker that dies after
claiming a chunk and before recording it leaves the chunk's notices `sending` — those it handed to the
provider and, possibly, some it had not reached yet. None is ever sent again automatically (at most
once); the scheduler reports notices stuck in `sending` so staff can check the provider's log (an email's
Message-ID is on the notice). CLAIM_CHUNK bounds how many notices one crash can leave there per thread.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy import update as update_rows
from sqlmodel import Session, col, select

from engine import audit
from engine.audit import Entry
from engine.bulkdb import insert_rows, table_of
from engine.channels import SendResult
from engine.compose.seeds import DIGEST
from engine.db import row_locks
from engine.models import Customer, DeliveryAttempt, Notice, NoticeStatus
from engine.notices import repository
from engine.notices.capping import apply_cap, is_held
from engine.notices.delivery import (
    MAX_ATTEMPTS,
    PROVIDER_SOURCE,
    WARNING_STAGES,
    after_text_failed,
    backoff,
    outbound_message,
    resolved_situations,
    send_message,
)
from engine.notices.dropping import drop_notice
from engine.notices.merging import all_fixed
from engine.pause import is_paused
from engine.policy.frequency import WINDOW, Quota, counts_against_cap, should_merge
from engine.runtime import Runtime
from engine.suppressions import service as suppressions

DELIVER_BATCH_ACTOR = "notices.deliver_batch"
# Ids per delivery job: enough that the broker is no bottleneck (100,000 notices are 400 jobs), few enough
# that a fan-out spreads over every worker process and thread.
QUEUE_BATCH = 250
# Notices claimed together: a crash leaves at most this many per worker thread unconfirmed in `sending`.
CLAIM_CHUNK = 25


def deliver_batch(rt: Runtime, notice_ids: Sequence[int], *, jitter: bool = True) -> Counter[str]:
    """Deliver those of `notice_ids` that are pending and due, in order; returns how each one went
    (sent, failed, retrying, dropped) and how many were skipped (already handled, not due, paused)."""
    report: Counter[str] = Counter()
    ids = list(dict.fromkeys(int(i) for i in notice_ids))  # a job's payload is JSON: no duplicates, keep order
    for start in range(0, len(ids), CLAIM_CHUNK):
        chunk = ids[start : start + CLAIM_CHUNK]
        claimed = _claim(rt, chunk, report)
        if claimed is None:  # paused: everything left stays pending; the relay queues it after resume
            report["skipped"] += len(ids) - start
            break
        results = [(notice, send_message(rt, outbound_message(rt, notice))) for notice in claimed]
        if results:
            _record(rt, results, report, jitter=jitter)
    return report


def _claim(rt: Runtime, chunk: list[int], report: Counter[str]) -> list[Notice] | None:
    """Lock the chunk's rows, move the pending, due ones to `sending`; None while paused.

    The rows are found and locked by primary key alone, and "pending and due" is checked on the locked
    rows: asking the database for `status = 'pending'` too would let a planner whose statistics predate
    the fan-out read every pending notice's index entry for each chunk. Locked, nobody else can claim them
    until this commits; on SQLite the write transaction is exclusive anyway.

    Per notice, the same rules as a single claim: a fixed problem drops its warning, a suppressed address
    drops the notice, and the daily cap holds or merges. The cap is counted for the whole chunk in two
    grouped queries; a notice the counts cannot settle on their own (a slot to wait for, news to merge,
    a held notice to render again) goes through `apply_cap` exactly as a single claim would.
    """
    with rt.unit_of_work() as session:
        now = rt.clock.now()
        if is_paused(session):
            return None
        if row_locks(session):
            # Customers first, then notices: the order a single claim takes, so the two never deadlock.
            customers = session.exec(select(Notice.customer_id).where(col(Notice.id).in_(chunk))).all()
            session.exec(
                select(Customer.id)
                .where(col(Customer.id).in_(sorted(set(customers))))
                .order_by(col(Customer.id))
                .with_for_update()
            ).all()
        statement = select(Notice).where(col(Notice.id).in_(chunk))
        if row_locks(session):
            statement = statement.with_for_update()
        order = {notice_id: i for i, notice_id in enumerate(chunk)}
        rows = sorted(session.exec(statement).all(), key=lambda n: order[n.id or 0])
        due = [n for n in rows if n.status == NoticeStatus.PENDING and n.send_at <= now]
        report["skipped"] += len(chunk) - len(due)
        fixed = resolved_situations(session, [n for n in due if n.stage in WARNING_STAGES and n.situation != DIGEST])
        blocked = suppressions.for_notices(session, due)
        quotas = _Quotas(session, rt, due, now=now)
        claimed: list[Notice] = []
        for notice in due:
            if notice.status != NoticeStatus.PENDING:  # merged into an earlier notice of this chunk
                report["merged"] += 1
                continue
            if notice.situation_id in fixed or (notice.situation == DIGEST and all_fixed(session, notice)):
                drop_notice(session, notice, at=now, reason="the problem was fixed before this was sent")
                report["dropped"] += 1
                continue
            if notice.id in blocked:
                drop_notice(session, notice, at=now, reason=suppressions.describe(blocked[notice.id or 0]))
                report["dropped"] += 1
                continue
            carrier = notice if quotas.settled(notice) else quotas.decide(session, rt, notice, now=now)
            if carrier is None:
                report["held"] += 1
                continue
            if carrier.status != NoticeStatus.PENDING:  # a digest whose template failed: on the row for staff
                report[carrier.status] += 1
                continue
            quotas.took(carrier)
            carrier.status, carrier.claimed_at = NoticeStatus.SENDING, now
            carrier.attempts += 1
            claimed.append(carrier)
        return claimed


class _Quotas:
    """The daily cap for one chunk: messages counted against it per customer and channel, and merge
    candidates per address, read in two grouped queries instead of two queries per notice."""

    def __init__(self, session: Session, rt: Runtime, notices: list[Notice], *, now: datetime) -> None:
        self.limit = rt.settings.max_notices_per_day
        self.used: Counter[tuple[str, str]] = Counter()
        self.candidates: Counter[tuple[str, str, str]] = Counter()
        self.unsettled: set[tuple[str, str]] = set()  # after apply_cap changed things, ask it again
        customers = sorted({n.customer_id for n in notices if self._counts(n)})
        if not customers:
            return
        for customer_id, channel, count in session.exec(
            select(Notice.customer_id, Notice.channel, func.count())
            .where(col(Notice.customer_id).in_(customers), *repository.counted_against_cap(now - WINDOW))
            .group_by(col(Notice.customer_id), col(Notice.channel))
        ).all():
            self.used[(customer_id, channel)] = count
        for customer_id, channel, recipient, count in session.exec(
            select(Notice.customer_id, Notice.channel, Notice.recipient, func.count())
            .where(col(Notice.customer_id).in_(customers), *repository.merge_candidate(now))
            .group_by(col(Notice.customer_id), col(Notice.channel), col(Notice.recipient))
        ).all():
            self.candidates[(customer_id, channel, recipient)] = count

    def _counts(self, notice: Notice) -> bool:
        return self.limit > 0 and counts_against_cap(notice.stage)

    def settled(self, notice: Notice) -> bool:
        """True when the counts alone say this notice simply goes (what `apply_cap` would decide)."""
        if not self._counts(notice):
            return True
        key = (notice.customer_id, notice.channel)
        if key in self.unsettled or is_held(notice) or self.used[key] >= self.limit:
            return False
        if notice.attempts == 0 and notice.situation != DIGEST:
            due = self.candidates[(notice.customer_id, notice.channel, notice.recipient)]
            return not should_merge(Quota(self.limit, self.used[key], None), due)
        return True

    def decide(self, session: Session, rt: Runtime, notice: Notice, *, now: datetime) -> Notice | None:
        self.unsettled.add((notice.customer_id, notice.channel))
        return apply_cap(session, rt, notice, now=now)

    def took(self, notice: Notice) -> None:
        if not self._counts(notice):
            return
        self.used[(notice.customer_id, notice.channel)] += 1
        if notice.attempts == 0 and notice.situation != DIGEST and notice.stage in WARNING_STAGES:
            self.candidates[(notice.customer_id, notice.channel, notice.recipient)] -= 1


def _record(rt: Runtime, results: list[tuple[Notice, SendResult]], report: Counter[str], *, jitter: bool) -> None:
    """Write what the providers said for the whole chunk: attempts, statuses and audit entries together."""
    with rt.unit_of_work() as session:
        now = rt.clock.now()
        attempts: list[dict[str, Any]] = []
        sent: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        retrying: list[dict[str, Any]] = []
        entries: list[Entry] = []
        failed_texts: list[tuple[int, str]] = []
        rejected: list[tuple[Notice, str]] = []
        refusals = suppressions.RefusalLimit(rt.settings.max_refused_addresses_per_hour, now=now)
        for notice, result in results:
            assert notice.id is not None
            attempts.append(
                {
                    "notice_id": notice.id,
                    "attempted_at": now,
                    "outcome": "sent" if result.ok else ("rejected" if result.permanent else "transient"),
                    "provider_id": result.provider_id,
                    "error": (result.error or "")[:1000] or None,
                }
            )
            details: dict[str, Any] = {"channel": notice.channel, "stage": notice.stage, "attempt": notice.attempts}
            if result.ok:
                sent.append({"nid": notice.id, "provider_id": result.provider_id})
                action = "notice.sent"
            elif result.permanent or notice.attempts >= MAX_ATTEMPTS:
                reason = (result.error or "provider refused")[:500]
                failed.append({"nid": notice.id, "status_reason": reason})
                action, details["reason"] = "notice.failed", reason
                if result.permanent and result.address_rejected:
                    # The mailbox (or number) does not exist: nothing proactive goes there again until the
                    # customer's address changes or staff clear it (within the hour's limit on such marks).
                    details["address_suppressed"] = refusals.take(
                        session, PROVIDER_SOURCE.get(notice.channel, notice.channel)
                    )
                    if details["address_suppressed"]:
                        rejected.append((notice, reason))
                if notice.channel == "sms":
                    failed_texts.append((notice.id, reason))
            else:
                retry_at = now + backoff(notice.attempts, result.retry_after, jitter=jitter)
                retrying.append(
                    {"nid": notice.id, "send_at": retry_at, "status_reason": f"retrying: {result.error}"[:500]}
                )
                action, details["retry_at"] = "notice.retry_scheduled", retry_at
            entries.append(Entry(at=now, actor="system", action=action, subject=f"notice:{notice.id}", details=details))
        insert_rows(session, DeliveryAttempt, attempts)
        _update_each(session, sent, status=NoticeStatus.SENT, sent_at=now, status_reason=None)
        _update_each(session, failed, status=NoticeStatus.FAILED)
        _update_each(session, retrying, status=NoticeStatus.PENDING, enqueued_at=None)
        audit.append_many(session, entries)
        refusals.report_withheld(session)
        for notice, reason in rejected:
            suppressions.suppress(
                session,
                channel=notice.channel,
                address=notice.recipient,
                reason=reason,
                source=PROVIDER_SOURCE.get(notice.channel, notice.channel),
                actor="system",
                at=now,
            )
        report["sent"] += len(sent)
        report["failed"] += len(failed)
        report["retrying"] += len(retrying)
        for notice_id, reason in failed_texts:
            text = session.get(Notice, notice_id)
            if text is not None:
                after_text_failed(session, rt, text, error=reason)


def _update_each(session: Session, rows: list[dict[str, Any]], **fixed: Any) -> None:
    """One executemany UPDATE: each row's own values (its keys besides `nid`) plus `fixed` for all."""
    if not rows:
        return
    table = table_of(Notice)
    own: dict[str, Any] = {key: bindparam(f"v_{key}") for key in rows[0] if key != "nid"}
    statement = update_rows(table).where(table.c.id == bindparam("nid")).values(**own, **fixed)
    session.execute(statement, [{f"v_{k}" if k != "nid" else k: v for k, v in row.items()} for row in rows])
