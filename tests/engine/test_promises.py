"""Say when we'll write again, and keep it (engine/promises): every warning names a time outside the
customer's quiet hours; when it comes with nothing newer sent, a check-in goes; none after resolution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from support import builders
from support.pipeline import drain, feed, notices

from engine.clock import SimulatedClock
from engine.detection.outages.rule import UPDATE_EVERY
from engine.policy.quiet_hours import in_window
from engine.promises.choose import ESTIMATE_GRACE, OUTAGE_RHYTHM, choose
from engine.promises.expect import survival_quantile
from engine.promises.keep import LEAD, _Promised, keep_promises
from engine.runtime import Runtime
from engine.vocabulary import SituationKind

QUIET = "21:00-08:00"


def test_the_outage_rhythm_is_the_outage_rule_s() -> None:
    assert OUTAGE_RHYTHM == UPDATE_EVERY


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "America/Sao_Paulo"])
@pytest.mark.parametrize("kind", [SituationKind.SHIPMENT_DELAYED, SituationKind.SERVICE_DISRUPTION])
def test_a_promise_is_a_whole_hour_never_in_quiet_hours_even_across_a_dst_change(
    zone: str, kind: SituationKind
) -> None:
    window = (datetime.strptime("21:00", "%H:%M").time(), datetime.strptime("08:00", "%H:%M").time())
    # Every quarter hour across the weekends of both spring changes (US 8 March, EU 29 March 2026).
    for start in (datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 3, 28, tzinfo=UTC)):
        for step in range(0, 4 * 72):
            after = start + timedelta(minutes=15 * step)
            promise = choose(kind=kind, opened_at=after, after=after, timezone=zone, quiet=QUIET)
            local = promise.astimezone(ZoneInfo(zone))
            assert not in_window(local.time(), window), (after, local)
            assert promise > after
            assert (local.minute, local.second) == (0, 0), local


def _parcel_promise(after: datetime, **given: datetime) -> datetime:
    return choose(kind=SituationKind.SHIPMENT_DELAYED, after=after, timezone="America/New_York", quiet=QUIET, **given)


def test_a_carrier_estimate_sets_the_promise_shortly_after_it_sooner_or_later_than_a_day() -> None:
    after = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # 9 AM in New York
    # Estimated for 7 AM in two days: the delivery's thank-you is expected by that evening.
    estimate = datetime(2026, 3, 12, 11, 0, tzinfo=UTC)
    assert _parcel_promise(after, opened_at=after, estimate=estimate) == estimate + ESTIMATE_GRACE
    # Estimated for tonight: not at 5 AM, but when the night ends.
    tonight = datetime(2026, 3, 10, 21, 0, tzinfo=UTC)
    assert _parcel_promise(after, opened_at=after, estimate=tonight) == datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
    # Estimated a fortnight off: no "no news" check-in a week before the date the customer was given.
    fortnight = datetime(2026, 3, 24, 11, 0, tzinfo=UTC)
    assert _parcel_promise(after, opened_at=after, estimate=fortnight) == fortnight + ESTIMATE_GRACE


def test_without_an_estimate_a_check_in_waits_past_the_order_s_promise_date() -> None:
    after = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
    due = datetime(2026, 3, 13, 3, 59, tzinfo=UTC)  # the order's promise date, three days off
    assert _parcel_promise(after, opened_at=after, due=due) == datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
    # A promise date long past says nothing: the wait grows with the time the matter has been going on.
    assert _parcel_promise(after, opened_at=after, due=after - timedelta(days=5)) == after + timedelta(days=1)
    on_the_road = after - timedelta(days=2)  # a parcel two days on the way: four days
    assert _parcel_promise(after, opened_at=on_the_road) == after + timedelta(days=4)


def test_the_wait_grows_with_the_matter_s_age_to_a_week_and_an_outage_keeps_its_rhythm() -> None:
    opened = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # 9 AM in New York: every promise lands at 9 AM
    waits = []
    after = opened
    for _ in range(6):
        promise = _parcel_promise(after, opened_at=opened)
        waits.append((promise - after) // timedelta(hours=1))
        after = promise
    assert waits == [24, 48, 144, 168, 168, 168]
    outage = choose(
        kind=SituationKind.SERVICE_DISRUPTION, opened_at=opened, after=opened, timezone="America/New_York", quiet=QUIET
    )
    assert outage == opened + OUTAGE_RHYTHM


def _warned(rt: Runtime, clock: SimulatedClock, channels: list[str]) -> None:
    t = clock.now()
    feed(
        rt,
        builders.customer_upserted(t - timedelta(days=3), channels=channels),
        builders.order_created(t - timedelta(days=2)),
        builders.shipment(t - timedelta(days=1), "in_transit"),
        builders.shipment(t, "exception", exception="weather"),
    )


def test_a_check_in_goes_when_the_promise_comes_with_nothing_newer_and_none_after_resolution(
    rt: Runtime, clock: SimulatedClock
) -> None:
    _warned(rt, clock, ["email"])
    (initial,) = notices(rt)
    assert initial.stage == "initial" and initial.next_update_at is not None
    assert "write again by" in initial.body
    promise = initial.next_update_at

    clock.set(promise - LEAD - timedelta(minutes=5))  # not yet
    assert keep_promises(rt) == 0
    clock.set(promise - LEAD)
    assert keep_promises(rt) == 1
    drain(rt)
    _first, check_in = notices(rt)
    assert (check_in.stage, check_in.status, check_in.channel) == ("update", "sent", "email")
    assert "no news yet" in check_in.body.lower()
    assert check_in.send_at <= promise
    assert check_in.next_update_at is not None and check_in.next_update_at > promise
    assert keep_promises(rt) == 0  # kept: nothing more until the next promise comes

    feed(rt, builders.shipment(clock.now() + timedelta(minutes=1), "delivered"))
    assert [n.stage for n in notices(rt)] == ["initial", "update", "resolved"]
    clock.set(check_in.next_update_at + timedelta(days=3))
    assert keep_promises(rt) == 0
    assert len(notices(rt)) == 3


def test_no_check_in_when_newer_news_went_out_before_the_promise(rt: Runtime, clock: SimulatedClock) -> None:
    _warned(rt, clock, ["email"])
    (initial,) = notices(rt)
    assert initial.next_update_at is not None
    clock.advance(timedelta(hours=3))
    feed(rt, builders.shipment(clock.now(), "lost"))
    _first, news = notices(rt)
    assert news.stage == "update" and news.next_update_at is not None
    assert news.next_update_at >= initial.next_update_at
    clock.set(initial.next_update_at - LEAD)
    if news.next_update_at > initial.next_update_at:
        assert keep_promises(rt) == 0
    assert len(notices(rt)) == 2


def test_no_news_check_ins_come_half_as_often_each_time_up_to_four_weeks(rt: Runtime, clock: SimulatedClock) -> None:
    # A parcel the carrier lost, with nobody closing the case: the customer is not told "no news" weekly
    # for months; each check-in promises twice the silence before it, up to four weeks (the lost report,
    # two days into the matter, promised four days).
    _warned(rt, clock, ["email"])
    feed(rt, builders.shipment(clock.now() + timedelta(minutes=5), "lost"))
    for _ in range(5):
        promise = notices(rt)[-1].next_update_at
        assert promise is not None
        clock.set(promise - LEAD)
        assert keep_promises(rt) == 1
        drain(rt)
    warnings = [n for n in notices(rt) if n.stage == "update"]
    gaps = [(b.send_at - a.send_at) / timedelta(days=1) for a, b in pairwise(warnings)]
    assert [round(g) for g in gaps] == [4, 8, 16, 28, 28]
    assert all("no news yet" in n.body.lower() for n in warnings[1:])


def test_a_texted_customer_s_promise_and_check_in_avoid_their_night(rt: Runtime, clock: SimulatedClock) -> None:
    # Late evening in New York on the day the clocks go forward (8 March 2026).
    clock.set(datetime(2026, 3, 8, 0, 30, tzinfo=UTC))  # 7:30 PM EST, 7 March
    _warned(rt, clock, ["sms"])
    (initial,) = notices(rt)
    assert initial.channel == "sms" and initial.next_update_at is not None
    window = (datetime.strptime("21:00", "%H:%M").time(), datetime.strptime("08:00", "%H:%M").time())
    local = initial.next_update_at.astimezone(ZoneInfo("America/New_York"))
    assert not in_window(local.time(), window)
    clock.set(initial.next_update_at - LEAD)
    assert keep_promises(rt) == 1
    drain(rt)
    check_in = notices(rt)[-1]
    assert check_in.channel == "sms" and check_in.stage == "update"
    assert not in_window(check_in.send_at.astimezone(ZoneInfo("America/New_York")).time(), window)
    assert check_in.send_at <= initial.next_update_at


def test_a_moving_parcel_without_an_estimate_is_promised_from_its_carrier_s_learned_transit() -> None:
    handed = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    transit = sorted(float(h) for h in range(24, 24 * 41, 24))  # trips of 1 to 40 days
    now = handed + timedelta(days=14)
    likely = survival_quantile(transit, since=handed, now=now)
    # Of the 26 trips longer than 14 days, three quarters had arrived by day 34.
    assert likely == handed + timedelta(days=34)
    # That is three weeks off: the promise is the longest wait, a week, not the promise date's next day.
    after = datetime(2026, 3, 15, 13, 0, tzinfo=UTC)
    due = after + timedelta(hours=12)
    assert _parcel_promise(after, opened_at=after, likely=likely, due=due) == after + timedelta(days=7)
    # Too few trips that long yet: nothing is learned, and the promise date speaks.
    assert survival_quantile(transit[:20], since=handed, now=now) is None
    assert _parcel_promise(after, opened_at=after, due=due) == datetime(2026, 3, 17, 12, 0, tzinfo=UTC)


def test_the_promise_to_keep_is_the_earliest_no_later_message_kept() -> None:
    t = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    state = _Promised()
    state.made = [(t, t + timedelta(days=3)), (t + timedelta(days=1), t + timedelta(days=2))]
    state.settle()
    # The news on day 1 kept the first promise and named a sooner time: that is the one due.
    assert state.promise == t + timedelta(days=2)
    state.others = {t + timedelta(days=1, hours=5)}  # a thank-you, say, sent after the news
    state.settle()
    assert state.promise is None
