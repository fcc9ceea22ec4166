"""The scheduler's beat in simulated time, and what one tick does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlalchemy import select as core_select
from sqlmodel import col, select

from engine.clock import SimulatedClock
from engine.delivery.service import deliver_due
from engine.detection.orders import scan_due
from engine.detection.outages.announcement import scan_outages
from engine.detection.outages.threads import sync_overdue_threads
from engine.inbound import repository as inbound_repo
from engine.models import Component, InboundEvent, Incident, Notice, Order, Situation
from engine.processing import apply_event
from engine.promises.keep import LEAD, keep_promises
from engine.replay.output import ReplaySummary
from engine.runtime import Runtime
from engine.vocabulary import NoticeStatus, SituationStatus

# Built once, so SQLAlchemy reuses its compiled form on every tick: the earliest moment each scheduled
# step has work (retrying an event, checking an order, announcing an outage, sending a deferred notice,
# telling an incident's threads news held back by the update interval, keeping a promise). Core's select:
# six columns.
_NEXT_DUE = core_select(
    select(func.min(InboundEvent.next_attempt_at)).where(col(InboundEvent.handled_at).is_(None)).scalar_subquery(),
    select(func.min(Order.next_check_at)).scalar_subquery(),
    select(func.min(Component.notify_at)).scalar_subquery(),
    select(func.min(Notice.send_at)).where(Notice.status == NoticeStatus.PENDING).scalar_subquery(),
    select(func.min(Incident.threads_due_at)).scalar_subquery(),
    select(func.min(Situation.next_update_at)).where(Situation.status == SituationStatus.OPEN).scalar_subquery(),
)
_NEXT_OUTAGE = select(func.min(Component.notify_at))
NEVER = datetime.max.replace(tzinfo=UTC)


class Ticker:
    """The scheduler's beat in simulated time. A tick with nothing due changes nothing, so until an event
    arrives or the earliest due moment comes, the ticks in between are counted without touching the
    database: a back-test of a quiet month costs what happens in it."""

    def __init__(self, rt: Runtime, clock: SimulatedClock, first: datetime, step: timedelta) -> None:
        self.rt, self.clock, self.step = rt, clock, step
        self.next_tick = _floor(first, step) + step
        self.idle_until: datetime | None = None  # no tick before this has anything to do
        self.outage_at: datetime | None = None  # when the next outage's debounce ends

    def event_arrived(self) -> None:
        self.idle_until = None

    def outages_changed(self) -> None:
        self.outage_at = _next_outage(self.rt)

    def run_until(self, moment: datetime, summary: ReplaySummary) -> None:
        while True:
            outage = self.outage_at
            if outage is not None and self.clock.now() < outage < self.next_tick and outage <= moment:
                # A debounce that ends between two scans: the production scheduler (every 15 s) announces
                # it then, so replay does too, whatever --tick it replays the order scans at. Minutes
                # matter here: they decide whether a text-only customer is told before their quiet hours.
                self.clock.set(outage)
                scan_outages(self.rt)
                self.outage_at = _next_outage(self.rt)
                self.idle_until = None
                continue
            if self.next_tick > moment:
                return
            if self.idle_until is not None and self.next_tick < self.idle_until:
                # Jump over the idle ticks in one step: with a 15 s beat a quiet month is ~170,000 ticks.
                if self.idle_until <= moment:  # the ticks before the one where something is due
                    skipped = -((self.next_tick - self.idle_until) // self.step)
                else:  # every tick up to the moment
                    skipped = (moment - self.next_tick) // self.step + 1
                summary.ticks += skipped
                self.next_tick += self.step * skipped
                continue
            self.clock.set(self.next_tick)
            self.idle_until = _tick(self.rt)
            self.outage_at = _next_outage(self.rt)
            summary.ticks += 1
            self.next_tick += self.step


def _next_outage(rt: Runtime) -> datetime | None:
    with rt.unit_of_work() as session:
        at: datetime | None = session.connection().execute(_NEXT_OUTAGE).scalar()
    return at


def _tick(rt: Runtime) -> datetime | None:
    """What the scheduler and an idle worker would do now. Returns, when nothing was due, the earliest
    moment something will be (NEVER if nothing is scheduled); None when work was done."""
    now = rt.clock.now()
    with rt.unit_of_work() as session:
        due_at = list(session.connection().execute(_NEXT_DUE).one())
        if due_at[5] is not None:
            due_at[5] -= LEAD  # a check-in goes LEAD before the promised time
        inbound_due, orders_due, outages_due, notices_due, threads_due, promises_due = (
            at is not None and at <= now for at in due_at
        )
        if not (inbound_due or orders_due or outages_due or notices_due or threads_due or promises_due):
            return min((at for at in due_at if at is not None), default=NEVER)
        waiting = inbound_repo.due_unhandled(session, now=now, limit=10_000) if inbound_due else []
    for event_id in waiting:
        apply_event(rt, event_id)
    if orders_due or waiting:  # an event applied late may have made an order due
        scan_due(rt, limit=100_000)
    if outages_due:
        scan_outages(rt)
    if threads_due:  # news held back by the update interval (jobs for big incidents run inline)
        sync_overdue_threads(rt)
    if promises_due:  # "we'll write again by …" has come: a check-in where nothing newer went
        keep_promises(rt)
    if notices_due:  # new notices due now were delivered inline as they were made
        deliver_due(rt, jitter=False)
    return None


def _floor(moment: datetime, step: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    return epoch + step * ((moment - epoch) // step)
