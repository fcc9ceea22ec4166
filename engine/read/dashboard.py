"""The dashboard's numbers (GET /api/dashboard): notices today and over 7 days by situation and channel,
delivery, failure and opt-out rates, the median proactive lead time (warning → promised time),
situations open now, and a chart of the week drawn as SVG.

Definitions (docs/api.md says the same):
- a notice counts on the day it was written (decided), in the time zone asked for (UTC by default);
- delivery rate = sent / (sent + failed) among the week's notices; failure rate = failed / (sent + failed);
  held, dropped and merged notices are neither (nothing was attempted, or the news went in another);
- opt-out rate = opt-outs in the week / customers who were sent something that week;
- lead time = an order's promised time minus when its first warning went out; negative when the warning
  came after the promise had already been missed.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from engine.clock import format_instant
from engine.read import dashboard_records as records
from engine.read.chart import stacked_bars
from engine.vocabulary import Channel, NoticeStatus

WEEK = 7


def dashboard(session: Session, *, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    midnight = datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone)
    days = [midnight - timedelta(days=back) for back in range(WEEK - 1, -1, -1)]  # the week, today last
    week_start, end = days[0], now + timedelta(microseconds=1)  # `until` is exclusive: now is included
    per_day = [records.notices_by_kind(session, since=day, until=min(day + timedelta(days=1), end)) for day in days]
    today, week = per_day[-1], [row for rows in per_day for row in rows]
    per_channel = [_by_channel(rows) for rows in per_day]
    daily = [{"date": day.date().isoformat(), **counts} for day, counts in zip(days, per_channel, strict=True)]
    return {
        "generated_at": format_instant(now),
        "timezone": zone.key,
        "notices": {"today": _summary(today), "week": _summary(week)},
        "daily": daily,
        "rates": _rates(session, week, since=week_start, until=end),
        "lead_time": _lead_time(records.first_warnings(session, since=week_start, until=end)),
        "situations_open": _open(records.open_situations(session)),
        "chart_svg": stacked_bars(
            "Notices written per day, by channel",
            [day.strftime("%a %d") for day in days],
            {str(channel): [counts[str(channel)] for counts in per_channel] for channel in Channel},
        ),
    }


def _by_channel(rows: list[tuple[str, str, str, int]]) -> dict[str, int]:
    counts = Counter({str(channel): 0 for channel in Channel})
    for _, channel, _, n in rows:
        counts[channel] += n
    return dict(counts)


def _summary(rows: list[tuple[str, str, str, int]]) -> dict[str, Any]:
    by_situation: dict[str, Counter[str]] = {}
    by_status: Counter[str] = Counter()
    for situation, channel, status, n in rows:
        by_situation.setdefault(situation, Counter())[channel] += n
        by_status[status] += n
    return {
        "total": sum(by_status.values()),
        "by_channel": _by_channel(rows),
        "by_situation": {kind: dict(channels) for kind, channels in sorted(by_situation.items())},
        "by_status": dict(sorted(by_status.items())),
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _rates(
    session: Session, week: list[tuple[str, str, str, int]], *, since: datetime, until: datetime
) -> dict[str, Any]:
    sent = sum(n for _, _, status, n in week if status == NoticeStatus.SENT)
    failed = sum(n for _, _, status, n in week if status == NoticeStatus.FAILED)
    opted_out = records.opt_outs(session, since=since, until=until)
    reached = records.customers_reached(session, since=since, until=until)
    return {
        "days": WEEK,
        "sent": sent,
        "failed": failed,
        "delivery_rate": _share(sent, sent + failed),
        "failure_rate": _share(failed, sent + failed),
        "opt_outs": opted_out,
        "customers_reached": reached,
        "opt_out_rate": _share(opted_out, reached),
    }


def _lead_time(warnings: list[tuple[str, datetime, datetime]]) -> dict[str, Any]:
    first: dict[str, tuple[datetime, datetime]] = {}
    for order_id, sent_at, promised_by in warnings:
        if order_id not in first or sent_at < first[order_id][0]:
            first[order_id] = (sent_at, promised_by)
    hours = [(promised - sent).total_seconds() / 3600 for sent, promised in first.values()]
    return {
        "orders_warned": len(hours),
        "median_hours": round(statistics.median(hours), 1) if hours else None,
        "before_promise": sum(1 for h in hours if h > 0),
    }


def _open(rows: list[tuple[str, int]]) -> dict[str, Any]:
    return {"total": sum(n for _, n in rows), "by_kind": dict(sorted(rows))}
