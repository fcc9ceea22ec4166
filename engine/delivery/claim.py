"""Claim a chunk of notices for sending: only a `pending`, due notice moves to `sending`, once.

One transaction locks the chunk's rows by primary key (customers first, then notices: the order every
other writer takes too, so none deadlocks) and checks "pending and due" on the locked rows: asking the
database for `status = 'pending'` too would let a planner whose statistics predate a fan-out read every
pending notice's index entry for each chunk. Locked, nobody else can claim them until this commits; on
SQLite the write transaction is exclusive anyway. A redelivered job, or two workers given the same ids,
therefore never send one notice twice.

Per notice: nothing is claimed while sending is paused; a warning whose problem was fixed meanwhile is
dropped, and so is one to a suppressed address; the daily cap may hold it for later or merge it with
others due (`engine.delivery.capping`). The cap is counted for the whole chunk in two grouped queries;
a notice the counts cannot settle on their own (a slot to wait for, news to merge, a held notice to word
again) goes through `apply_cap`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from engine.brakes.pause import is_paused
from engine.delivery.capping import apply_cap, is_held
from engine.delivery.merging import FIXED, all_fixed, refresh
from engine.models import Notice
from engine.notices import repository
from engine.notices.journal import drop_notice
from engine.policy.frequency import WINDOW, Quota, counts_against_cap, should_merge
from engine.runtime import Runtime
from engine.situations import repository as situations_repo
from engine.suppressions import service as suppressions
from engine.vocabulary import WARNING_STAGES, NoticeStatus, SituationKind


def claim(rt: Runtime, chunk: list[int], report: Counter[str]) -> list[Notice] | None:
    """Lock the chunk's rows and move the pending, due ones to `sending` (in `chunk` order); None while
    sending is paused. What happened to the others is counted in `report`."""
    with rt.unit_of_work() as session:
        now = rt.clock.now()
        if is_paused(session):
            return None
        due = _lock_due(session, chunk, now=now)
        report["skipped"] += len(chunk) - len(due)
        fixed = resolved_situations(
            session, [n for n in due if n.stage in WARNING_STAGES and n.situation != SituationKind.DIGEST]
        )
        blocked = suppressions.for_notices(session, due)
        quotas = _Quotas(session, rt, due, now=now)
        claimed: list[Notice] = []
        for notice in due:
            if notice.status != NoticeStatus.PENDING:  # merged into an earlier notice of this chunk
                report["merged"] += 1
                continue
            if notice.situation_id in fixed or (
                notice.situation == SituationKind.DIGEST and all_fixed(session, notice)
            ):
                drop_notice(session, notice, at=now, reason=FIXED)
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
            if carrier is notice and notice.deferred and not is_held(notice):
                # Waited out the quiet hours: worded as of now, from what is true now (a held one already was).
                refresh(session, rt, notice, now=now)
            quotas.took(carrier)
            carrier.status, carrier.claimed_at = NoticeStatus.SENDING, now
            carrier.attempts += 1
            claimed.append(carrier)
        return claimed


def _lock_due(session: Session, chunk: list[int], *, now: datetime) -> list[Notice]:
    """The chunk's notices that are pending and due, locked, in `chunk` order."""
    order = {notice_id: i for i, notice_id in enumerate(chunk)}
    rows = sorted(repository.lock_for_claim(session, chunk), key=lambda n: order[n.id or 0])
    return [n for n in rows if n.status == NoticeStatus.PENDING and n.send_at <= now]


def resolved_situations(session: Session, warnings: Sequence[Notice]) -> set[int]:
    """Of these warnings' situations, the ids of those resolved since."""
    return situations_repo.resolved_among(session, {n.situation_id for n in warnings})


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
        for customer_id, channel, count in repository.cap_usage(session, customers, since=now - WINDOW):
            self.used[(customer_id, channel)] = count
        for customer_id, channel, recipient, count in repository.merge_candidate_counts(session, customers, now=now):
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
        if notice.attempts == 0 and notice.situation != SituationKind.DIGEST:
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
        if notice.attempts == 0 and notice.situation != SituationKind.DIGEST and notice.stage in WARNING_STAGES:
            self.candidates[(notice.customer_id, notice.channel, notice.recipient)] -= 1
