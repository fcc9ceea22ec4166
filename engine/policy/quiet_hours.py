"""Quiet hours: no SMS inside the recipient's local night; a text due then waits for the morning."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.config import parse_quiet_hours


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def in_window(local: time, window: tuple[time, time]) -> bool:
    start, end = window
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # wraps past midnight


def defer(moment: datetime, *, timezone: str | None, window: tuple[time, time] | str) -> datetime:
    """The first instant at or after `moment` outside the quiet window in the recipient's zone."""
    if isinstance(window, str):
        window = parse_quiet_hours(window)
    tz = zone(timezone)
    local = moment.astimezone(tz)
    if not in_window(local.time(), window):
        return moment
    end = window[1]
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    wall = datetime.combine(day, end)
    # Wall time → instant through UTC, so a window end that falls in a DST gap lands just after it.
    candidate = wall.replace(tzinfo=tz).astimezone(UTC)
    if in_window(candidate.astimezone(tz).time(), window):
        candidate += timedelta(hours=1)
    return candidate


def last_reachable(moment: datetime, *, timezone: str | None, window: tuple[time, time] | str) -> datetime:
    """The last instant before `moment` (or `moment` itself) a text can go out without waiting: `moment`
    outside the quiet window, else a minute before the window began (so a warning needed by a deadline in
    the recipient's night is sent that evening, not the morning after it)."""
    if isinstance(window, str):
        window = parse_quiet_hours(window)
    tz = zone(timezone)
    local = moment.astimezone(tz)
    if not in_window(local.time(), window):
        return moment
    start = window[0]
    day = local.date() if local.time() >= start else local.date() - timedelta(days=1)
    began = datetime.combine(day, start).replace(tzinfo=tz).astimezone(UTC)
    return began - timedelta(minutes=1)
