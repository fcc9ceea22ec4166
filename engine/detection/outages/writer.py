"""Writing an outage announcement batch by batch — on PostgreSQL in a thread of its own.

Composing a batch (deciding, rendering, hashing nothing yet) is Python's work; writing it (COPY into
situations, notices and the audit log, index upkeep, commit) is mostly the database's. On PostgreSQL the
two overlap: the announcement composes batch n+1 while this writer's thread writes batch n, one batch at a
time and in order, so the audit chain grows as it would have anyway. At most two composed batches wait.

Each write is its own transaction and first re-checks, under the component's row lock, that the
component is still down, still due and still filed under the same incident; if not, that batch and
every later one is dropped (`stopped`), and the scan stops composing. A batch that fails (say a thread
someone else opened meanwhile trips the unique constraint) stops the writer too; the error is raised
to the scan, and the next scan carries on, skipping everyone already told.

On SQLite, which lets one writer in at a time, the scan writes each batch itself, in the transaction
that composed it; this class then only keeps count.
"""

from __future__ import annotations

import queue
import threading
from datetime import datetime

from engine.db import is_postgres, row_locks
from engine.db.bulk import refresh_statistics
from engine.models import Component
from engine.runtime import Runtime
from engine.situations.service import Changes, write_changes
from engine.state.services import DOWN

# Refresh planner statistics after this many notices, then each time the count has doubled, and at the end.
ANALYZE_FROM = 10_000
# The columns the fan-out's own rows change the most (and later queries filter on), not whole tables.
FANOUT_TABLES = (
    "notices (thread_key, status, send_at, recipient, customer_id)",
    "situations (subject_key, status, customer_id, kind)",
)


def still_due(component: Component | None, *, incident_id: str, now: datetime) -> bool:
    return (
        component is not None
        and component.notify_at is not None
        and component.notify_at <= now
        and component.status in DOWN
        and component.incident_id == incident_id
    )


class AnnouncementWriter:
    def __init__(self, rt: Runtime, *, component: str, incident_id: str, now: datetime) -> None:
        self.rt = rt
        self.component = component
        self.incident_id = incident_id
        self.now = now
        self.threaded = is_postgres(rt.db)
        self.told = 0  # customers in batches written so far
        self.notices = 0
        self.stopped = False  # the component healed, was announced or moved meanwhile
        self._error: BaseException | None = None
        self._analyse_at = ANALYZE_FROM
        self._queue: queue.Queue[Changes | None] = queue.Queue(maxsize=2)
        self._thread: threading.Thread | None = None
        if self.threaded:
            self._thread = threading.Thread(target=self._run, name="forewarn-fanout-writer", daemon=True)
            self._thread.start()

    def submit(self, changes: Changes) -> None:
        """Hand over a composed batch to be written in its own transaction (on PostgreSQL by the thread,
        which this blocks while two batches are already waiting; elsewhere right here)."""
        self._raise()
        if self._thread is None:
            if not self.failed:
                self._write(changes)
            return
        self._queue.put(changes)

    def written(self, changes: Changes) -> None:
        """Count a batch the scan wrote itself (SQLite), after its transaction committed."""
        self._count(changes)

    def finish(self) -> None:
        """Wait until every submitted batch is written (or dropped); raise what went wrong, if anything."""
        self.close()
        self._raise()
        if self.notices >= ANALYZE_FROM:
            refresh_statistics(self.rt.db, FANOUT_TABLES)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    @property
    def failed(self) -> bool:
        return self._error is not None or self.stopped

    def _run(self) -> None:
        while True:
            changes = self._queue.get()
            if changes is None:
                return
            if self.failed:
                continue  # the rest of the announcement is dropped; the next scan picks it up
            try:
                self._write(changes)
            except BaseException as exc:  # handed to the scan's thread by _raise
                self._error = exc

    def _write(self, changes: Changes) -> None:
        with self.rt.unit_of_work() as session:
            component = session.get(Component, self.component, with_for_update=row_locks(session))
            if not still_due(component, incident_id=self.incident_id, now=self.now):
                self.stopped = True
                return
            write_changes(session, changes)
        self._count(changes)

    def _count(self, changes: Changes) -> None:
        self.told += changes.told
        self.notices += len(changes.notices.rows)
        if self.notices >= self._analyse_at:  # the tables outgrew what the planner knows about them
            refresh_statistics(self.rt.db, FANOUT_TABLES)
            self._analyse_at = self.notices * 2

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error
