"""Group commit for webhooks: many deliveries stored in one transaction, each answered after its commit.

Every accepted event is chained into the audit log, and the chain is appended under one lock held until
the transaction commits; one transaction per request therefore queued every concurrent webhook behind the
one before it, lock, insert, commit (an fsync) and all, and the API took about a hundred a second.

Here one thread stores what the route hands it: it takes every delivery waiting, stores them all in one
transaction (one chain lock, one commit) and only then resolves each delivery's future, so a 202 still
means that delivery's events are durably stored. No timer: while one group commits, the next one gathers,
so a lone webhook waits for nobody and a burst shares its commits.

A group that fails for a reason other than an outage is stored again one delivery per transaction, so a
delivery the database refuses fails alone; an outage (the database not answering) fails the group's
deliveries with the error, which the route answers 503. The jobs the group queued go to the broker after
the futures are resolved: the stored row is the truth, and the outbox relay queues what the broker missed.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.clock import parse_duration
from engine.events.schema import CanonicalEvent
from engine.inbound.service import Arrival, StoreResult, store_arrivals
from engine.quarantine import is_outage
from engine.runtime import JOBS_KEY, Runtime
from engine.vocabulary import FeedSource

log = logging.getLogger(__name__)

# Deliveries per transaction at most: enough to share a commit under any burst, few enough to keep the
# transaction (and the chain lock it holds) short.
MAX_GROUP = 256


@dataclass
class Delivery:
    source: FeedSource
    events: list[CanonicalEvent]
    received_at: datetime
    future: Future[StoreResult] = field(default_factory=Future)


class GroupCommit:
    """Stores webhook deliveries for one runtime, a group per transaction, in a thread of its own."""

    def __init__(self, rt: Runtime, *, max_group: int = MAX_GROUP) -> None:
        self.rt = rt
        self.max_group = max_group
        self._waiting: queue.SimpleQueue[Delivery | None] = queue.SimpleQueue()
        # Committed groups' jobs, sent by a thread of their own: the next group commits meanwhile.
        self._jobs: queue.SimpleQueue[list[tuple[str, tuple[Any, ...]]] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, source: FeedSource, events: list[CanonicalEvent], received_at: datetime) -> Future[StoreResult]:
        """Queue one delivery; its future holds the StoreResult once committed, or the error that stopped it."""
        delivery = Delivery(source, events, received_at)
        self._ensure_started()
        self._waiting.put(delivery)
        return delivery.future

    def close(self) -> None:
        """Store what is waiting and queue its jobs, then stop the threads."""
        with self._lock:
            threads, self._threads = self._threads, []
        if threads:
            committer, sender = threads
            self._waiting.put(None)
            committer.join(timeout=30)
            self._jobs.put(None)
            sender.join(timeout=30)

    def _ensure_started(self) -> None:
        if self._threads:
            return
        with self._lock:
            if not self._threads:
                self._threads = [
                    threading.Thread(target=self._run, name="forewarn-group-commit", daemon=True),
                    threading.Thread(target=self._send, name="forewarn-group-jobs", daemon=True),
                ]
                for thread in self._threads:
                    thread.start()

    def _send(self) -> None:
        while (jobs := self._jobs.get()) is not None:
            self.rt.run_jobs(jobs)

    def _run(self) -> None:
        while True:
            first = self._waiting.get()
            if first is None:
                return
            group, stop = [first], False
            while len(group) < self.max_group:
                try:
                    more = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
            self._store(group)
            if stop:
                return

    def _store(self, group: list[Delivery]) -> None:
        try:
            results, jobs = self._commit(group)
        except Exception as exc:
            if len(group) == 1 or is_outage(exc):
                for delivery in group:
                    delivery.future.set_exception(exc)
                return
            # One delivery the database refuses must not fail the others: each in its own transaction.
            for delivery in group:
                self._store([delivery])
            return
        for delivery, result in zip(group, results, strict=True):
            delivery.future.set_result(result)
        self._jobs.put(jobs)

    def _commit(self, group: list[Delivery]) -> tuple[list[StoreResult], list[tuple[str, tuple[Any, ...]]]]:
        relay_after = parse_duration(self.rt.settings.relay_after)
        with self.rt.unit_of_work() as session:
            arrivals = [Arrival(d.source, d.events, d.received_at) for d in group]
            results = store_arrivals(session, arrivals, relay_after=relay_after)
            # Queued by us once the futures are resolved, not by the unit of work before that.
            jobs: list[tuple[str, tuple[Any, ...]]] = session.info.pop(JOBS_KEY, [])
        return results, jobs
