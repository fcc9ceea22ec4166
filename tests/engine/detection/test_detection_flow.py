"""Detection through the real pipeline: warnings come from evidence and the scan of what is due."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select
from support import builders
from support.pipeline import drain, feed

from engine.clock import SimulatedClock, format_instant
from engine.detection.orders import scan_due
from engine.models import CarrierStats, Notice, Order
from engine.runtime import Runtime


def warnings(rt: Runtime) -> list[tuple[str, str]]:
    with Session(rt.db) as session:
        rows = session.exec(select(Notice).where(Notice.channel == "email").order_by(col(Notice.id))).all()
    return [(n.situation, n.stage) for n in rows]


def start(rt: Runtime, clock: SimulatedClock, promised_in: timedelta) -> None:
    t = clock.now()
    feed(
        rt,
        builders.customer_upserted(t, channels=["email"]),
        builders.order_created(t, promised_in=promised_in),
        builders.shipment(t, "in_transit", estimated_delivery_at=format_instant(t + timedelta(days=2))),
    )


def test_a_new_estimate_past_the_promise_warns_at_once(rt: Runtime, clock: SimulatedClock) -> None:
    start(rt, clock, timedelta(days=4))
    clock.advance(timedelta(hours=12))
    later = format_instant(clock.now() + timedelta(days=6))
    feed(rt, builders.shipment(clock.now(), "in_transit", estimated_delivery_at=later))
    assert warnings(rt) == [("shipment.delayed", "initial")]
    clock.advance(timedelta(hours=12))  # slips again by hours: not news
    feed(
        rt,
        builders.shipment(
            clock.now(), "in_transit", estimated_delivery_at=format_instant(clock.now() + timedelta(days=5, hours=20))
        ),
    )
    clock.advance(timedelta(hours=12))  # slips by two more days: an update
    feed(
        rt,
        builders.shipment(
            clock.now(), "in_transit", estimated_delivery_at=format_instant(clock.now() + timedelta(days=8))
        ),
    )
    assert warnings(rt) == [("shipment.delayed", "initial"), ("shipment.delayed", "update")]


def test_the_scan_warns_about_a_silent_parcel_before_the_promise(rt: Runtime, clock: SimulatedClock) -> None:
    start(rt, clock, timedelta(days=3))
    promised = clock.now() + timedelta(days=3)
    for _ in range(4 * 24 * 3):  # three days of 15-minute ticks with no scan at all
        clock.advance(timedelta(minutes=15))
        scan_due(rt)
        drain(rt)
        if warnings(rt):
            break
    assert warnings(rt)[0][1] == "initial"
    assert warnings(rt)[0][0] in ("shipment.stalled", "shipment.delayed")
    assert clock.now() < promised


def test_a_parcel_on_track_is_never_warned_and_is_thanked_for_nothing(rt: Runtime, clock: SimulatedClock) -> None:
    start(rt, clock, timedelta(days=4))
    for hour in range(0, 48, 12):
        clock.advance(timedelta(hours=12))
        scan_due(rt)
        feed(rt, builders.shipment(clock.now(), "in_transit", location=f"Hub {hour}"))
    feed(rt, builders.shipment(clock.now(), "out_for_delivery"))
    clock.advance(timedelta(hours=4))
    feed(rt, builders.shipment(clock.now(), "delivered"))
    scan_due(rt)
    assert warnings(rt) == []
    with Session(rt.db) as session:
        assert session.get(Order, "A1001").next_check_at is None  # nothing left to watch
        learned = session.get(CarrierStats, "ups")
    assert learned is not None and learned.deliveries == 1
    assert 47 < learned.samples["transit"][0] < 53


def test_an_order_not_shipped_in_time_is_late_to_ship(rt: Runtime, clock: SimulatedClock) -> None:
    """Nothing learned yet: a hand-over that is late is told at the last call before the promise (as the
    plain rules would), not on a guessed trip length."""
    t = clock.now()
    feed(
        rt, builders.customer_upserted(t, channels=["email"]), builders.order_created(t, promised_in=timedelta(days=4))
    )
    for _ in range(4 * 24 * 2):
        clock.advance(timedelta(minutes=15))
        scan_due(rt)
        drain(rt)
    assert warnings(rt) == []
    for _ in range(2 * 24 * 4):
        clock.advance(timedelta(minutes=15))
        scan_due(rt)
        drain(rt)
    assert warnings(rt) == [("order.late_to_ship", "initial")]


def test_every_parcel_is_judged_and_the_order_is_late_when_its_older_parcel_is(
    rt: Runtime, clock: SimulatedClock
) -> None:
    t = clock.now()
    promised = t + timedelta(days=4)
    first, second = {"tracking_number": "1ZFIRST"}, {"tracking_number": "1ZSECOND"}
    feed(
        rt,
        builders.customer_upserted(t, channels=["email"]),
        builders.order_created(t, promised_in=timedelta(days=4)),
        builders.shipment(t, "in_transit", estimated_delivery_at=format_instant(t + timedelta(days=2)), **first),
    )
    clock.advance(timedelta(hours=6))
    feed(rt, builders.shipment(clock.now(), "in_transit", **second))
    clock.advance(timedelta(hours=20))
    feed(rt, builders.shipment(clock.now(), "out_for_delivery", **second))  # the newer parcel: on time
    clock.advance(timedelta(hours=3))
    feed(rt, builders.shipment(clock.now(), "delivered", **second))
    with Session(rt.db) as session:
        order = session.get(Order, "A1001")
        assert order is not None and order.delivered_at is None  # one parcel is still on its way
    while clock.now() < promised and not warnings(rt):  # the older one never moves again
        clock.advance(timedelta(minutes=15))
        scan_due(rt)
        drain(rt)
    [(kind, stage)] = warnings(rt)
    assert kind in ("shipment.stalled", "shipment.delayed") and stage == "initial"
    assert clock.now() < promised
    clock.advance(timedelta(days=1))
    feed(rt, builders.shipment(clock.now(), "delivered", **first))
    assert warnings(rt)[-1] == (kind, "resolved")
