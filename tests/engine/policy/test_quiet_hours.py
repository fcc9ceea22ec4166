"""Quiet hours in the recipient's own zone, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from engine.policy.quiet_hours import defer, last_reachable

NY = ZoneInfo("America/New_York")


def local(text: str, zone: ZoneInfo = NY) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-03-07T22:30", "2026-03-08T08:00"),  # the night clocks spring forward: 08:00 EDT, not EST
        ("2026-03-08T03:30", "2026-03-08T08:00"),
        ("2026-11-01T01:30", "2026-11-01T08:00"),  # the night clocks fall back
        ("2026-03-10T07:59", "2026-03-10T08:00"),
        ("2026-03-10T21:00", "2026-03-11T08:00"),
    ],
)
def test_sms_in_quiet_hours_waits_for_local_morning(moment: str, expected: str) -> None:
    deferred = defer(local(moment).astimezone(UTC), timezone="America/New_York", window="21:00-08:00")
    assert deferred.astimezone(NY).replace(tzinfo=None) == datetime.fromisoformat(expected)
    assert deferred.astimezone(NY).hour == 8


@pytest.mark.parametrize("moment", ["2026-03-10T08:00", "2026-03-10T12:00", "2026-03-10T20:59"])
def test_outside_quiet_hours_goes_now(moment: str) -> None:
    at = local(moment).astimezone(UTC)
    assert defer(at, timezone="America/New_York", window="21:00-08:00") == at


def test_same_instant_is_quiet_in_one_zone_and_not_another() -> None:
    at = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 23:00 in Sao Paulo, 11:00 in Tokyo
    assert defer(at, timezone="America/Sao_Paulo", window="21:00-08:00") > at
    assert defer(at, timezone="Asia/Tokyo", window="21:00-08:00") == at


def test_a_daytime_window_that_does_not_wrap() -> None:
    at = local("2026-03-10T13:00").astimezone(UTC)
    assert defer(at, timezone="America/New_York", window="12:00-14:00").astimezone(NY).hour == 14


@pytest.mark.parametrize(
    ("deadline", "expected"),
    [
        ("2026-03-10T06:42", "2026-03-09T20:59"),  # promised in the night: the evening before
        ("2026-03-10T23:59", "2026-03-10T20:59"),  # "by end of day": before the night begins
        ("2026-03-10T15:00", "2026-03-10T15:00"),  # a daytime deadline is itself reachable
        ("2026-03-08T07:30", "2026-03-07T20:59"),  # across the night clocks spring forward
    ],
)
def test_the_last_moment_a_text_reaches_someone_before_a_deadline(deadline: str, expected: str) -> None:
    at = last_reachable(local(deadline).astimezone(UTC), timezone="America/New_York", window="21:00-08:00")
    assert at.astimezone(NY).replace(tzinfo=None) == datetime.fromisoformat(expected)
