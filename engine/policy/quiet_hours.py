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


def _quiet_local(
    moment: datetime, timezone: str | None, window: tuple[time, time] | str
) -> tuple[datetime, tuple[time, time]] | None:
    """`moment` on the recipient's wall clock and the window, if it falls inside the window; else None."""
    if isinstance(window, str):
        window = parse_quiet_hours(window)
    local = moment.astimezone(zone(timezone))
    return (local, window) if in_window(local.time(), window) else None


def defer(moment: datetime, *, timezone: str | None, window: tuple[time, time] | str) -> datetime:
    """The first instant at or after `moment` outside the quiet window in the recipient's zone."""
    quiet = _quiet_local(moment, timezone, window)
    if quiet is None:
        return moment
    local, (_, end) = quiet
    tz = local.tzinfo
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    wall = datetime.combine(day, end)
    # Wall time → instant through UTC, so a window end that falls in a DST gap lands just after it.
    candidate = wall.replace(tzinfo=tz).astimezone(UTC)
    if in_window(candidate.astimezone(tz).time(), quiet[1]):
        candidate += timedelta(hours=1)
    return candidate


def last_reachable(moment: datetime, *, timezone: str | None, window: tuple[time, time] | str) -> datetime:
    """The last instant before `moment` (or `moment` itself) a text can go out without waiting: `moment`
    outside the quiet window, else a minute before the window began (so a warning needed by a deadline in
    the recipient's night is sent that evening, not the morning after it)."""
    quiet = _quiet_local(moment, timezone, window)
    if quiet is None:
        return moment
    local, (start, _) = quiet
    day = local.date() if local.time() >= start else local.date() - timedelta(days=1)
    began = datetime.combine(day, start).replace(tzinfo=local.tzinfo).astimezone(UTC)
    return began - timedelta(minutes=1)
