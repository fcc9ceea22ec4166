"""Reading a trace and feeding it to the engine, event by event at its arrival, the ticks in between."""

from __future__ import annotations

import json
import math
import time as wallclock
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import SQLModel

import engine.models  # noqa: F401  (tables for create_all)
from engine.clock import SimulatedClock, format_instant, parse_duration
from engine.compose.store import TemplateStore, seed_templates
from engine.config import Settings
from engine.db import make_engine
from engine.detection.judgements import MEMO_KEY as JUDGEMENTS
from engine.detection.judgements import JudgementLog
from engine.errors import InvalidEvent
from engine.events.schema import CanonicalEvent, parse_event
from engine.inbound.service import delivery_key, record_event
from engine.processing import apply_row
from engine.replay.frontier import outcomes, reliability
from engine.replay.frontier import sweep as sweep_points
from engine.replay.output import ReplaySummary, write_notices
from engine.replay.runtime import InlineDispatcher, ReplayChannel, ReplayRuntime
from engine.replay.ticker import Ticker
from engine.vocabulary import Channel, FeedSource

TAIL = timedelta(days=14)
SOURCE = FeedSource.REPLAY

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
    sweep: Sequence[float] = (),
) -> ReplaySummary:
    """`sweep`: thresholds to decide at afterwards from the recorded probabilities; the replay then never
    warns on a probability itself, so the notices written are the rules' alone."""
    started = wallclock.perf_counter()
    events = [event for _, event in read_trace(trace)]
    if not events:
        raise InvalidEvent(f"{trace}: no events")
    summary = ReplaySummary(events=len(events))
    arrival = [event.received_at or event.occurred_at for event in events]
    first = min(arrival)
    end = until or (max(arrival) + TAIL)
    clock = SimulatedClock(first)
    rt = _runtime(settings, clock)
    log = rt.memo.setdefault(JUDGEMENTS, JudgementLog(decide=not sweep))
    # The production scheduler's beat unless told otherwise: a coarser tick would announce an outage or
    # check an order later than production does (minutes that matter when quiet hours are about to begin).
    ticker = Ticker(rt, clock, first, tick or parse_duration(settings.scheduler_interval))
    _feed(rt, ticker, events, arrival, end=end, summary=summary, progress=progress)
    ticker.run_until(end, summary)
    write_notices(rt, out, summary)
    _judge_the_judgements(rt, log, summary, end=max(event.occurred_at for event in events), sweep=sweep)
    rt.close()
    summary.started_at, summary.ended_at = first, end
    summary.seconds = wallclock.perf_counter() - started
    return summary


def _judge_the_judgements(
    rt: ReplayRuntime, log: JudgementLog, summary: ReplaySummary, *, end: datetime, sweep: Sequence[float]
) -> None:
    with rt.unit_of_work() as session:
        truth = outcomes(session, end=end)
    summary.reliability = reliability(log.judgements, truth)
    if sweep:
        summary.frontier = sweep_points(log.judgements, summary.first_warned, truth, sweep)


def _runtime(settings: Settings, clock: SimulatedClock) -> ReplayRuntime:
    """The engine on a private in-memory database (replay never touches the configured one), its clock at
    the trace's first arrival, jobs run inline, nothing sent."""
    # Large fan-outs wait for a staff approval in production; a back-test assumes staff said yes.
    replay_settings = settings.model_copy(update={"database_url": "sqlite://", "fanout_approval": 10**9})
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
        seed_templates(session, now=clock.now())
    return rt


def _feed(
    rt: ReplayRuntime,
    ticker: Ticker,
    events: list[CanonicalEvent],
    arrival: list[datetime],
    *,
    end: datetime,
    summary: ReplaySummary,
    progress: Progress | None,
) -> None:
    """Each event at its arrival, the scheduler's ticks in between."""
    clock = ticker.clock
    seen: set[tuple[str, str]] = set()
    step = max(1, len(events) // 10)
    for index, (event, at) in enumerate(zip(events, arrival, strict=True)):
        if at > end:
            break
        ticker.run_until(at, summary)
        ticker.event_arrived()
        clock.set(max(clock.now(), at))
        key = (SOURCE, delivery_key(event))
        if key in seen:  # a redelivery (same id, same content): stored once, as the webhook's unique key would
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
