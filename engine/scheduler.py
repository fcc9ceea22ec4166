"""The scheduler's tick: re-queue lost work (the outbox relay) and due notices."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from engine.audit.checkpoint import write_checkpoint
from engine.brakes.pause import is_paused
from engine.clock import parse_duration
from engine.delivery.reconcile import reconcile_stranded
from engine.detection.orders import scan_due
from engine.detection.outages.announcement import scan_outages
from engine.detection.outages.threads import sync_overdue_threads
from engine.inbound import repository as inbound_repo
from engine.leadership import Leadership
from engine.notices import repository as notices_repo
from engine.notices.outbox import queue_for_delivery
from engine.promises.keep import keep_promises
from engine.quarantine import describe
from engine.runtime import Runtime, enqueue_after_commit
from engine.vocabulary import Job

log = logging.getLogger(__name__)
T = TypeVar("T")
BATCH = 500
# Due notices queued per tick (in jobs of QUEUE_BATCH ids): a morning's deferred texts go out in minutes.
NOTICES_PER_TICK = 10_000
# Below this many unfinished jobs on the broker, a notice queued long ago and still pending is taken to be
# lost (a second job is harmless: the claim on the row makes it a no-op). A fan-out's backlog is hundreds.
LOST_JOBS_BELOW_BACKLOG = 50


@dataclass(frozen=True)
class TickReport:
    events_requeued: int
    notices_queued: int
    stuck_sending: int
    orders_checked: int
    paused: bool = False
    backlog: int | None = None  # the broker's unfinished jobs when the tick began (None: not known)
    reconciled: Counter[str] = field(default_factory=Counter)  # stranded notices settled, released, unconfirmed


def tick(rt: Runtime) -> TickReport:
    """One round of every step. Each step runs even when one before it failed: rows a step cannot process
    are quarantined inside it (engine.quarantine), and a step that fails whole (an outage) is logged and
    tried again next tick, so the relay never waits on a scan."""
    checked = _step("due-orders scan", scan_due, rt) or 0
    _step("outage scan", scan_outages, rt)
    _step("incident threads", sync_overdue_threads, rt)  # held-back outage news now due, or a lost thread job
    _step("promises", keep_promises, rt)  # a check-in where "we'll write again by …" has come with no news
    relayed = _step("outbox relay", _relay, rt)
    _step("audit checkpoint", write_checkpoint, rt)  # the chain's head, outside the database
    if relayed is None:
        raise StepsFailed("the outbox relay failed; see the log")
    return replace(relayed, orders_checked=checked)


class StepsFailed(RuntimeError):
    """The tick's relay could not run (the database is down, most likely)."""


def _step(name: str, fn: Callable[[Runtime], T], rt: Runtime) -> T | None:
    try:
        return fn(rt)
    except Exception as error:
        kind, reason = describe(error)
        log.error("scheduler step %s failed (%s: %s); the other steps still ran", name, kind, reason)
        return None


def _relay(rt: Runtime) -> TickReport:
    now = rt.clock.now()
    relay_after = parse_duration(rt.settings.relay_after)
    with rt.unit_of_work() as session:
        events = inbound_repo.due_unhandled(session, now=now, limit=BATCH)
        inbound_repo.postpone(session, events, until=now + relay_after)
        for event_id in events:
            enqueue_after_commit(session, Job.APPLY_EVENT, event_id)
        # Paused (engine/brakes/pause.py): due notices stay pending, unqueued, until staff resume sending.
        paused = is_paused(session)
        # A job queued over FOREWARN_RELAY_AFTER ago counts as lost only while the broker's queue is short:
        # behind a big fan-out it is most likely still waiting its turn, and queueing it again would only
        # lengthen the queue. Never-queued notices (a deferred text now due) go either way.
        backlog = _backlog(rt)
        look_for_lost = backlog is None or backlog < LOST_JOBS_BELOW_BACKLOG
        notice_ids = (
            []
            if paused
            else notices_repo.due_for_relay(
                session,
                now=now,
                enqueued_before=now - relay_after if look_for_lost else None,
                limit=NOTICES_PER_TICK,
            )
        )
        notices_repo.mark_enqueued(session, notice_ids, now=now)
        # In jobs of many ids: texts held back by quiet hours all come due at the same local morning.
        queue_for_delivery(session, notice_ids)
    # Claimed longer ago than the relay delay and still `sending`: a worker stopped (engine/delivery/reconcile.py).
    reconciled = reconcile_stranded(rt, claimed_before=now - relay_after, attempted_before=now - 2 * relay_after)
    if reconciled["released"] or reconciled["unconfirmed"]:
        log.warning(
            "stranded notices: %d never sent, put back to pending; %d unconfirmed (see /metrics)",
            reconciled["released"],
            reconciled["unconfirmed"],
        )
    with rt.unit_of_work() as session:
        stuck = notices_repo.stuck_sending(session, claimed_before=now - relay_after)
    return TickReport(len(events), len(notice_ids), stuck, 0, paused, backlog, reconciled)


def _backlog(rt: Runtime) -> int | None:
    """The broker's unfinished jobs on our queue, if the dispatcher can tell (a broker dispatcher can)."""
    backlog = getattr(rt.dispatcher, "backlog", None)
    return backlog() if callable(backlog) else None


class SchedulerThread:
    """Runs `tick` every FOREWARN_SCHEDULER_INTERVAL until stopped, while it is the active scheduler
    (`engine.leadership`: other schedulers on the same database stand by)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.leadership = Leadership(rt.db)
        self.ticks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="forewarn-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def run_forever(self) -> None:
        self._run()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        interval = parse_duration(self.rt.settings.scheduler_interval).total_seconds()
        try:
            while not self._stop.is_set():
                if self.leadership.lead():
                    self._tick()
                self._stop.wait(interval)
        finally:
            self.leadership.release()

    def _tick(self) -> None:
        try:
            tick(self.rt)
            self.ticks += 1
        except Exception as error:  # logged without its statement or parameters: they hold personal data
            log.error("scheduler tick failed (%s); trying again next interval", describe(error)[0])
