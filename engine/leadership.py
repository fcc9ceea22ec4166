"""One active scheduler: whoever holds the lock ticks; the others stand by quietly and take over when it
goes.

Two schedulers ticking together scanned every order twice and one of them logged a UniqueViolation
traceback each time. On PostgreSQL the scheduler holds a session-level advisory lock on a connection of
its own for as long as it runs: a second one finds it taken and waits; when the leader stops, crashes or
loses its connection, PostgreSQL releases the lock and the next standby to try takes it. Before each
tick the leader checks its connection still answers (a database restart ends the lock with the session).

SQLite is the embedded default: one process, its scheduler alone, so leading is always granted.
"""

from __future__ import annotations

import logging
from contextlib import suppress

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from engine.quarantine import describe

log = logging.getLogger(__name__)

# Any constant works; it names the advisory lock (distinct from the audit chain's).
SCHEDULER_LOCK_KEY = 7_114_221_014


class Leadership:
    """Whether this process may run the scheduler's tick now."""

    def __init__(self, db: Engine, *, key: int = SCHEDULER_LOCK_KEY) -> None:
        self.db = db
        self.key = key
        self._conn: Connection | None = None
        self._standing_by = False

    @property
    def needs_lock(self) -> bool:
        return self.db.dialect.name == "postgresql"

    def lead(self) -> bool:
        """True when this process holds the lock (taking it if it is free)."""
        if not self.needs_lock:
            return True
        if self._conn is not None and self._still_held():
            return True
        return self._take()

    def _still_held(self) -> bool:
        assert self._conn is not None
        try:
            self._conn.execute(text("SELECT 1"))
            return True
        except Exception as error:
            log.warning("the scheduler lost its lock's connection (%s); trying to lead again", describe(error)[0])
            self._drop()
            return False

    def _take(self) -> bool:
        try:
            conn = self.db.connect().execution_options(isolation_level="AUTOCOMMIT")
        except Exception as error:
            log.warning("the scheduler cannot reach the database (%s)", describe(error)[0])
            return False
        taken = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar())
        if not taken:
            conn.close()
            if not self._standing_by:
                log.info("another scheduler is active; standing by")
                self._standing_by = True
            return False
        self._conn = conn
        if self._standing_by:
            log.info("this scheduler is now the active one")
        self._standing_by = False
        return True

    def release(self) -> None:
        if self._conn is not None:
            with suppress(Exception):  # the session is gone: so is its lock
                self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(Exception):  # already closed
                conn.invalidate()  # never back to the pool: a pooled session would keep the lock
