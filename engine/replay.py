"""Back-test: run the whole engine over a trace on a simulated clock, sending nothing (DESIGN §5)."""

from __future__ import annotations

import json
import math
import time as wallclock
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlmodel import SQLModel, col, select

import engine.models  # noqa: F401  (tables for create_all)
from engine.channels import ChannelName, OutboundMessage, SendResult
from engine.clock import SimulatedClock, format_instant
from engine.compose.store import TemplateStore, seed_templates
from engine.config import Settings
from engine.db import make_engine
from engine.detection.orders import scan_due
from engine.detection.outages import scan_outages
from engine.errors import InvalidEvent
from engine.events.schema import CanonicalEvent, parse_event
from engine.inbound import repository as inbound_repo
from engine.inbound.service import APPLY_ACTOR, store_events
from engine.models import Component, Notice, NoticeStatus, Order
from engine.notices.batch_delivery import DELIVER_BATCH_ACTOR, deliver_batch
from engine.notices.delivery import deliver_due, deliver_notice
from engine.notices.planner import DELIVER_ACTOR
from engine.processing import apply_event
from engine.runtime import Runtime

TAIL = timedelta(days=14)


class InlineDispatcher:
    """Runs each job as soon as the transaction that asked for it commits, like an idle worker would."""

    def __init__(self) -> None:
        self.rt: Runtime | None = None

    def send(self, actor_name: str, *args: Any, delay: timedelta | None = None) -> None:
        assert self.rt is not None
        if actor_name == DELIVER_ACTOR:
            deliver_notice(self.rt, args[0], jitter=False)
        elif actor_name == DELIVER_BATCH_ACTOR:
            deliver_batch(self.rt, args[0], jitter=False)
        elif actor_name == APPLY_ACTOR and delay is None:
            apply_event(self.rt, args[0])
        # Delayed retries are picked up by the tick through the relay query, as in production.


class ReplayChannel:
    """Accepts everything: replay records what would be sent, it never sends."""

    name: ChannelName

    def __init__(self, name: ChannelName) -> None:
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
    tick: timedelta = timedelta(minutes=15),
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
    rt = Runtime(
        settings=replay_settings,
        db=make_engine(replay_settings.database_url),
        clock=clock,
        templates=TemplateStore(recheck_seconds=math.inf),
        channels={"email": ReplayChannel("email"), "sms": ReplayChannel("sms")},
        dispatcher=dispatcher,
    )
    dispatcher.rt = rt
    SQLModel.metadata.create_all(rt.db)
    with rt.unit_of_work() as session:
        seed_templates(session, now=first)
    next_tick = _floor(first, tick) + tick
    step = max(1, len(events) // 10)
    for index, ((_, event), at) in enumerate(zip(events, arrival, strict=True)):
        if at > end:
            break
        next_tick = _ticks_until(rt, next_tick, tick, at, summary)
        clock.set(max(clock.now(), at))
        with rt.unit_of_work() as session:
            stored = store_events(session, source="replay", events=[event], received_at=clock.now())
        summary.duplicates += stored.duplicates
        if progress and (index + 1) % step == 0:
            progress(f"  {index + 1:>7}/{len(events)} events  (simulated {format_instant(clock.now())})")
    _ticks_until(rt, next_tick, tick, end, summary)
    _write(rt, out, summary)
    rt.close()
    summary.started_at, summary.ended_at = first, end
    summary.seconds = wallclock.perf_counter() - started
    return summary


def _ticks_until(
    rt: Runtime, next_tick: datetime, step: timedelta, moment: datetime, summary: ReplaySummary
) -> datetime:
    """Run every tick of simulated time up to `moment`; returns the next one."""
    assert isinstance(rt.clock, SimulatedClock)
    while next_tick <= moment:
        rt.clock.set(next_tick)
        _tick(rt)
        summary.ticks += 1
        next_tick += step
    return next_tick


def _tick(rt: Runtime) -> None:
    """What the scheduler and an idle worker would do at this moment; a step with nothing due is skipped."""
    now = rt.clock.now()
    with rt.unit_of_work() as session:
        waiting = inbound_repo.due_unhandled(session, now=now, limit=10_000)
        orders_due = session.exec(select(Order.id).where(col(Order.next_check_at) <= now).limit(1)).first()
        outages_due = session.exec(select(Component.name).where(col(Component.notify_at) <= now).limit(1)).first()
        notices_due = session.exec(
            select(Notice.id).where(Notice.status == NoticeStatus.PENDING, Notice.send_at <= now).limit(1)
        ).first()
    for event_id in waiting:
        apply_event(rt, event_id)
    if orders_due is not None or waiting:  # an event applied late may have made an order due
        scan_due(rt, limit=100_000)
    if outages_due is not None:
        scan_outages(rt)
    if notices_due is not None:  # new notices due now were delivered inline as they were made
        deliver_due(rt, jitter=False)


def _write(rt: Runtime, out: Path, summary: ReplaySummary) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with rt.unit_of_work() as session:
        rows = session.exec(select(Notice).order_by(col(Notice.send_at), col(Notice.id))).all()
        with out.open("w", encoding="utf-8") as handle:
            for notice in rows:
                if notice.status == NoticeStatus.SENT:
                    _write_line(handle, notice)
                    summary.notices[f"{notice.situation}/{notice.stage}/{notice.channel}"] += 1
                elif notice.status == NoticeStatus.DROPPED:
                    summary.dropped += 1
                elif notice.status == NoticeStatus.FAILED:
                    summary.failed += 1


def _write_line(handle: IO[str], notice: Notice) -> None:
    handle.write(
        json.dumps(
            {
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
            },
            ensure_ascii=False,
        )
        + "\n"
    )


def _floor(moment: datetime, step: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    return epoch + step * ((moment - epoch) // step)
