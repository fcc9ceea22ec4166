"""Back-test: run the whole engine over a trace on a simulated clock, sending nothing (DESIGN §5)."""

from __future__ import annotations

import json
import math
import time as wallclock
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import func
from sqlalchemy import select as core_select
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.elements import BinaryExpression, BindParameter
from sqlmodel import Session, SQLModel, col, select

import engine.models  # noqa: F401  (tables for create_all)
from engine import audit
from engine.clock import SimulatedClock, format_instant, parse_duration
from engine.compose.store import TemplateStore, seed_templates
from engine.config import Settings
from engine.db import make_engine
from engine.delivery.channel import OutboundMessage, SendResult
from engine.delivery.service import deliver, deliver_due
from engine.detection.orders import scan_due
from engine.detection.outages.announcement import scan_outages
from engine.detection.outages.threads import sync_overdue_threads, sync_threads
from engine.errors import InvalidEvent
from engine.events.schema import CanonicalEvent, parse_event
from engine.inbound import repository as inbound_repo
from engine.inbound.service import record_event
from engine.models import Component, InboundEvent, Incident, Notice, Order
from engine.processing import apply_event, apply_row
from engine.runtime import JOBS_KEY, Runtime
from engine.vocabulary import Channel, FeedSource, Job, NoticeStatus, SituationKind

TAIL = timedelta(days=14)
SOURCE = FeedSource.REPLAY

# Built once, so SQLAlchemy reuses its compiled form on every tick: the earliest moment each scheduled
# step has work (retrying an event, checking an order, announcing an outage, sending a deferred notice,
# telling an incident's threads news held back by the update interval). Core's select: five columns.
_NEXT_DUE = core_select(
    select(func.min(InboundEvent.next_attempt_at)).where(col(InboundEvent.handled_at).is_(None)).scalar_subquery(),
    select(func.min(Order.next_check_at)).scalar_subquery(),
    select(func.min(Component.notify_at)).scalar_subquery(),
    select(func.min(Notice.send_at)).where(Notice.status == NoticeStatus.PENDING).scalar_subquery(),
    select(func.min(Incident.threads_due_at)).scalar_subquery(),
)
_NEXT_OUTAGE = select(func.min(Component.notify_at))
NEVER = datetime.max.replace(tzinfo=UTC)


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


@dataclass
class ReplaySummary:
    events: int = 0
    duplicates: int = 0
    ticks: int = 0
    notices: Counter[str] = field(default_factory=Counter)
    dropped: int = 0
    failed: int = 0
    merged: int = 0  # notices whose news went out inside another (the daily cap)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    seconds: float = 0.0


Progress = Callable[[str], None]


def read_trace(path: Path) -> Iterator[tuple[int, CanonicalEvent]]:
    """Events in file order; a bad line stops the replay naming the line, never silently skipped."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidEvent(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            try:
                yield number, parse_event(raw)
            except InvalidEvent as exc:
                raise InvalidEvent(f"{path}:{number}: {exc}") from None


def replay(
    trace: Path,
    out: Path,
    *,
    settings: Settings,
    tick: timedelta | None = None,
    until: datetime | None = None,
    progress: Progress | None = None,
) -> ReplaySummary:
    started = wallclock.perf_counter()
    events = list(read_trace(trace))
    if not events:
        raise InvalidEvent(f"{trace}: no events")
    summary = ReplaySummary(events=len(events))
    arrival = [ev.received_at or ev.occurred_at for _, ev in events]
    first = min(arrival)
    end = until or (max(arrival) + TAIL)
    # A private in-memory database: replay never touches the configured one.
    # Large fan-outs wait for a staff approval in production; a back-test assumes staff said yes.
    replay_settings = settings.model_copy(update={"database_url": "sqlite://", "fanout_approval": 10**9})
    clock = SimulatedClock(first)
    dispatcher = InlineDispatcher()
    rt = ReplayRuntime(
        settings=replay_settings,
        db=make_engine(replay_settings.database_url),
        clock=clock,
        templates=TemplateStore(recheck_seconds=math.inf),
        channels={channel: ReplayChannel(channel) for channel in Channel},
        dispatcher=dispatcher,
    )
    dispatcher.rt = rt
    SQLModel.metadata.create_all(rt.db)
    with rt.unit_of_work() as session:
        seed_templates(session, now=first)
    # The production scheduler's beat unless told otherwise: a coarser tick would announce an outage or
    # check an order later than production does (minutes that matter when quiet hours are about to begin).
    beat = tick or parse_duration(settings.scheduler_interval)
    ticker = _Ticker(rt, clock, first, beat)
    seen: set[tuple[str, str]] = set()
    step = max(1, len(events) // 10)
    for index, ((_, event), at) in enumerate(zip(events, arrival, strict=True)):
        if at > end:
            break
        ticker.run_until(at, summary)
        ticker.event_arrived()
        clock.set(max(clock.now(), at))
        key = (SOURCE, event.id)
        if key in seen:  # a redelivery: stored once, as the webhook's unique key would
            summary.duplicates += 1
            continue
        seen.add(key)
        with rt.unit_of_work() as session:
            # Stored and applied in one transaction, as an idle worker would right after the webhook; an
            # event about an order not seen yet waits for the tick's relay, as in production.
            row = record_event(session, event_id=len(seen), source=SOURCE, event=event, received_at=clock.now())
            apply_row(session, rt, row, event)
            session.add(row)
        if event.type == "service.status":  # may have started (or ended) a debounce
            ticker.outages_changed()
        if progress and (index + 1) % step == 0:
            progress(f"  {index + 1:>7}/{len(events)} events  (simulated {format_instant(clock.now())})")
    ticker.run_until(end, summary)
    _write(rt, out, summary)
    rt.close()
    summary.started_at, summary.ended_at = first, end
    summary.seconds = wallclock.perf_counter() - started
    return summary


class _Ticker:
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
        due_at = session.connection().execute(_NEXT_DUE).one()
        inbound_due, orders_due, outages_due, notices_due, threads_due = (at is not None and at <= now for at in due_at)
        if not (inbound_due or orders_due or outages_due or notices_due or threads_due):
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
    if notices_due:  # new notices due now were delivered inline as they were made
        deliver_due(rt, jitter=False)
    return None


def _write(rt: Runtime, out: Path, summary: ReplaySummary) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with rt.unit_of_work() as session:
        rows = session.exec(select(Notice).order_by(col(Notice.send_at), col(Notice.id))).all()
        merged: dict[int, list[Notice]] = {}
        for notice in rows:
            if notice.status == NoticeStatus.MERGED and notice.merged_into is not None:
                merged.setdefault(notice.merged_into, []).append(notice)
        with out.open("w", encoding="utf-8") as handle:
            for notice in rows:
                if notice.status == NoticeStatus.SENT:
                    for line in _lines(notice, merged.get(notice.id or 0, [])):
                        _write_line(handle, line)
                        summary.notices[f"{line['situation']}/{line['stage']}/{line['channel']}"] += 1
                elif notice.status == NoticeStatus.DROPPED:
                    summary.dropped += 1
                elif notice.status == NoticeStatus.FAILED:
                    summary.failed += 1
                elif notice.status == NoticeStatus.MERGED:
                    summary.merged += 1


def _lines(notice: Notice, originals: list[Notice]) -> list[dict[str, Any]]:
    """One line per notice sent; a digest is one line per thread it told about (its order or incident,
    situation and stage, with the digest's channel, time and text), so each is credited as told."""
    line = {
        "notice_id": notice.id,
        "customer_id": notice.customer_id,
        "order_id": notice.order_id,
        "incident_id": notice.incident_id,
        "situation": notice.situation,
        "stage": notice.stage,
        "channel": notice.channel,
        "recipient": notice.recipient,
        "send_at": format_instant(notice.send_at),
        "subject": notice.subject,
        "body": notice.body,
        "template": notice.template,
    }
    if notice.situation != SituationKind.DIGEST:
        return [line]
    threads: dict[str, list[Notice]] = {}
    for original in originals:
        threads.setdefault(original.thread_key, []).append(original)
    return [
        {
            **line,
            "order_id": group[-1].order_id,
            "incident_id": group[-1].incident_id,
            "situation": group[-1].situation,
            "stage": group[0].stage,
        }
        for group in threads.values()
    ]


def _write_line(handle: IO[str], line: dict[str, Any]) -> None:
    handle.write(json.dumps(line, ensure_ascii=False) + "\n")


def _floor(moment: datetime, step: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    return epoch + step * ((moment - epoch) // step)
