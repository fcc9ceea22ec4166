"""The engine's runtime for a back-test: one long-lived session, jobs run inline, channels that send nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.elements import BinaryExpression, BindParameter
from sqlmodel import Session, SQLModel

from engine import audit
from engine.delivery.channel import OutboundMessage, SendResult
from engine.delivery.service import deliver
from engine.detection.outages.threads import sync_threads
from engine.processing import apply_event
from engine.runtime import JOBS_KEY, Runtime
from engine.vocabulary import Channel, Job


class InlineDispatcher:
    """Runs each job as soon as the transaction that asked for it commits, like an idle worker would."""

    def __init__(self) -> None:
        self.rt: Runtime | None = None

    def send(self, actor_name: str, *args: Any, delay: timedelta | None = None) -> None:
        assert self.rt is not None
        if actor_name == Job.DELIVER:
            deliver(self.rt, args[0], jitter=False)
        elif actor_name == Job.APPLY_EVENT and delay is None:
            apply_event(self.rt, args[0])
        elif actor_name == Job.SYNC_THREADS:
            sync_threads(self.rt, args[0])
        # Delayed retries are picked up by the tick through the relay query, as in production.


class ReplayRuntime(Runtime):
    """The engine's runtime with one long-lived session for every unit of work.

    Nothing else writes to replay's private database, so a row read once stays true until this process
    changes it: keeping the identity map across transactions saves re-reading orders, customers and
    situations for every event and tick (most of a back-test's cost).

    For the same reason a unit of work ends with a flush, not a commit: what it wrote is visible to
    the next unit either way (there is no other reader), and the database commits every COMMIT_EVERY
    units instead. A failure inside a unit still aborts the whole replay, so no decision ever rests on
    a unit that did not finish; jobs (deliveries) still run only after the unit that asked for them.
    """

    COMMIT_EVERY = 500

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._session: Session | None = None
        self._depth = 0
        self._units = 0
        self._by_table: dict[Any, type] = {}
        # The identity map holds rows weakly; these strong references keep them for the whole replay.
        self._kept: dict[int, object] = {}

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        if self._session is None:
            self._session = Session(self.db, expire_on_commit=False)
            audit.sole_writer(self._session)
            sqlalchemy_event.listen(self._session, "do_orm_execute", self._refresh_after_core_writes)
            sqlalchemy_event.listen(self._session, "loaded_as_persistent", self._keep)
            sqlalchemy_event.listen(self._session, "pending_to_persistent", self._keep)
        session = self._session
        if self._depth:  # a nested unit joins the transaction already open, as a savepoint-free callee
            yield session
            return
        self._depth += 1
        try:
            yield session
            jobs: list[tuple[str, tuple[Any, ...]]] = session.info.pop(JOBS_KEY, [])
            self._units += 1
            if self._units % self.COMMIT_EVERY == 0:
                session.commit()
            else:
                session.flush()
        except BaseException:
            session.info.pop(JOBS_KEY, None)
            session.rollback()
            raise
        finally:
            self._depth -= 1
        self.run_jobs(jobs)

    def statement_connection(self) -> Connection | None:
        """None: every write goes through the one long-lived session (a second connection would not see
        what it has not committed yet)."""
        return None

    def _refresh_after_core_writes(self, state: ORMExecuteState) -> Any:
        """Bulk paths (fan-outs, batch delivery) UPDATE tables directly, past the ORM: the kept objects
        those statements changed would then be stale, so they are expired and re-read on next use. A
        statement that names its rows by primary key expires just those; any other, the table's."""
        if not (state.is_update or state.is_delete) or state.is_orm_statement:
            return None
        table = getattr(state.statement, "table", None)
        result = state.invoke_statement()
        model = self._models().get(table)
        if model is None:
            return result
        ids = _primary_keys_named(state, table)
        session = state.session
        if ids is not None:
            for pk in ids:
                obj = session.identity_map.get(identity_key(model, pk))
                if obj is not None:
                    session.expire(obj)
        else:
            for obj in list(session.identity_map.values()):
                if type(obj) is model:
                    session.expire(obj)
        return result

    def _models(self) -> dict[Any, type]:
        if not self._by_table:
            self._by_table = {m.local_table: m.class_ for m in SQLModel._sa_registry.mappers}
        return self._by_table

    def _keep(self, _session: Session, obj: object) -> None:
        self._kept.setdefault(id(obj), obj)

    def close(self) -> None:
        if self._session is not None:
            self._session.commit()
            self._session.close()
        super().close()


def _primary_keys_named(state: ORMExecuteState, table: Any) -> set[Any] | None:
    """The primary keys a `WHERE pk = :p` (per row of an executemany) or `WHERE pk IN (…)` names."""
    primary = list(table.primary_key.columns)
    where = getattr(state.statement, "whereclause", None)
    if len(primary) != 1 or not isinstance(where, BinaryExpression) or where.left is not primary[0]:
        return None
    bound = where.right
    if not isinstance(bound, BindParameter):
        return None
    rows = state.parameters if isinstance(state.parameters, list) else [state.parameters or {}]
    found: set[Any] = set()
    for row in rows:
        value = row.get(bound.key, bound.value) if isinstance(row, dict) else bound.value
        if value is None:
            return None
        found.update(value if bound.expanding else [value])
    return found


class ReplayChannel:
    """Accepts everything: replay records what would be sent, it never sends."""

    provider = "replay"

    def __init__(self, name: Channel) -> None:
        self.name = name

    def send(self, message: OutboundMessage) -> SendResult:
        return SendResult.sent(f"replay-{message.notice_id}")

    def close(self) -> None:
        return None
