"""The Runtime one process works with (settings, database, clock, templates, channel adapters, where jobs
go), and its unit of work: the one place that commits, then queues the jobs the transaction asked for
(besides `statement_connection`, whose single statements commit on their own and queue nothing)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from engine.audit import keys as audit_keys
from engine.clock import Clock
from engine.compose.store import TemplateStore
from engine.config import Settings
from engine.delivery.channel import Callbacks, ChannelAdapter
from engine.vocabulary import Channel

log = logging.getLogger(__name__)
JOBS_KEY = "forewarn.jobs"  # session.info slot for jobs queued after commit
SETTINGS_KEY = "forewarn.settings"  # session.info slot: the settings, for a job asked only when configured


class Dispatcher(Protocol):
    def send(self, actor_name: str, *args: Any, delay: timedelta | None = None) -> None:
        """Queue one background job (after the transaction that asked for it committed)."""
        ...


class NullDispatcher:
    """Drops jobs: replay and synchronous callers run the steps themselves."""

    def send(self, actor_name: str, *args: Any, delay: timedelta | None = None) -> None:
        return None


@dataclass
class Runtime:
    settings: Settings
    db: Engine
    clock: Clock
    templates: TemplateStore
    channels: dict[Channel, ChannelAdapter] = field(default_factory=dict)
    callbacks: dict[str, Callbacks] = field(default_factory=dict)  # by provider: who calls us back
    dispatcher: Dispatcher = field(default_factory=NullDispatcher)
    memo: dict[str, Any] = field(default_factory=dict)  # per-process caches, e.g. the delivery model

    def __post_init__(self) -> None:
        # Every entry appended through this database is signed with this deployment's audit key.
        audit_keys.bind(self.db, self.settings.audit_key)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction; jobs it asked for are queued only after it commits."""
        with Session(self.db, expire_on_commit=False) as session:
            session.info[SETTINGS_KEY] = self.settings
            try:
                yield session
                jobs: list[tuple[str, tuple[Any, ...]]] = session.info.pop(JOBS_KEY, [])
                session.commit()
            except BaseException:
                session.info.pop(JOBS_KEY, None)
                session.rollback()
                raise
        self.run_jobs(jobs)

    def statement_connection(self) -> Connection | None:
        """A pooled connection on which each statement is a transaction of its own (autocommit), held by the
        caller for a run of small writes that queue no jobs (the delivery ledger's, one per message): each
        is then one round trip, without a pool checkout, its liveness ping, BEGIN and COMMIT. The caller
        closes it. None where that is not safe, and the caller uses `unit_of_work`: on SQLite an in-memory
        database is one connection that every session shares, so a second holder would commit or undo
        their work."""
        if self.db.dialect.name != "postgresql":
            return None
        return self.db.connect().execution_options(isolation_level="AUTOCOMMIT")

    def run_jobs(self, jobs: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Hand committed work to the dispatcher; a failure to queue is logged, never raised."""
        send_many = getattr(self.dispatcher, "send_many", None)
        if send_many is not None and len(jobs) > 1:
            try:
                send_many(jobs)
                return
            except Exception:
                # One job the batch could not take (an actor this dispatcher lacks, a broker hiccup) must not
                # cost the others their turn: not every job has an outbox row for the relay (a helpdesk
                # webhook has none). One at a time, then; a job queued twice is harmless, each is idempotent.
                log.warning("could not queue %d jobs together; one at a time", len(jobs), exc_info=True)
        for actor_name, args in jobs:
            try:
                self.dispatcher.send(actor_name, *args)
            except Exception:
                # The outbox row is the truth; the relay re-queues what a broker hiccup lost.
                log.warning("could not queue %s%r now; the relay will retry", actor_name, args, exc_info=True)

    def provider_of(self, channel: Channel) -> str:
        """Who sends on this channel (the source of what it says about addresses)."""
        adapter = self.channels.get(channel)
        return adapter.provider if adapter is not None else str(channel)

    def close(self) -> None:
        for channel in self.channels.values():
            channel.close()
        self.db.dispose()


def enqueue_after_commit(session: Session, actor_name: str, *args: Any) -> None:
    session.info.setdefault(JOBS_KEY, []).append((actor_name, args))
