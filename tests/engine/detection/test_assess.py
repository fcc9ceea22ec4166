"""The late-order judgement on its own: evidence in, verdict and next look out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.detection.assess import PRIOR_SCAN_GAP_H, assess
from engine.detection.model import DeliveryModel
from engine.models import Order, Shipment

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def order(promised_in: timedelta, **fields: object) -> Order:
    return Order(
        id="A1",
        customer_id="C1",
        placed_at=NOW - timedelta(days=2),
        promised_by=NOW + promised_in,
        created_at=NOW,
        updated_at=NOW,
        **fields,
    )


def parcel(**fields: object) -> Shipment:
    base: dict[str, object] = {
        "order_id": "A1",
        "carrier": "ups",
        "status": "in_transit",
        "handed_over_at": NOW - timedelta(days=1),
        "last_scan_at": NOW - timedelta(hours=2),
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Shipment(**{**base, **fields})


def learned(carrier: str = "ups", **measures: list[float]) -> DeliveryModel:
    return DeliveryModel({carrier: {name: sorted(values) for name, values in measures.items()}})


def test_a_carrier_estimate_past_the_promise_is_a_delay() -> None:
    verdict = assess(
        order(timedelta(days=2)), parcel(estimated_delivery_at=NOW + timedelta(days=3)), NOW, DeliveryModel()
    )
    assert verdict.kind == "shipment.delayed"


def test_on_track_parcel_raises_nothing_and_says_when_to_look_again() -> None:
    verdict = assess(
        order(timedelta(days=3)), parcel(estimated_delivery_at=NOW + timedelta(days=1)), NOW, DeliveryModel()
    )
    assert verdict.kind is None
    assert verdict.next_check_at is not None and NOW < verdict.next_check_at <= NOW + timedelta(days=3)


def test_silence_longer_than_this_carrier_ever_goes_quiet_is_a_stall_when_the_promise_is_near() -> None:
    model = learned(scan_gap=[10.0] * 20, transit=[48.0] * 20, stall_remaining=[60.0] * 40)
    quiet = parcel(last_scan_at=NOW - timedelta(hours=20))
    verdict = assess(order(timedelta(days=2)), quiet, NOW, model)
    assert verdict.kind == "shipment.stalled" and verdict.stalled
    assert verdict.details["confidence"] == 1.0 and verdict.probability == 1.0


def test_a_stall_is_told_only_when_the_stalls_learned_mostly_ended_past_the_time_left() -> None:
    quiet = parcel(last_scan_at=NOW - timedelta(hours=20))
    # One in ten stalls learned lasted past the two days left: noted, looked at again, not told.
    mostly_short = learned(scan_gap=[10.0] * 20, transit=[48.0] * 20, stall_remaining=[20.0] * 36 + [90.0] * 4)
    verdict = assess(order(timedelta(days=2)), quiet, NOW, mostly_short)
    assert verdict.kind is None and verdict.stalled and verdict.probability == 0.1
    assert verdict.next_check_at is not None and verdict.next_check_at <= NOW + timedelta(hours=6)
    # Too few stalls learned to state a chance: the floor tells nothing on silence, nor does the engine.
    unlearned = learned(scan_gap=[10.0] * 20, transit=[48.0] * 20, stall_remaining=[60.0] * 20)
    assert assess(order(timedelta(days=2)), quiet, NOW, unlearned).kind is None


def test_a_stall_with_plenty_of_time_left_is_noted_but_not_told_yet() -> None:
    model = learned(scan_gap=[10.0] * 20, transit=[48.0] * 20, stall_remaining=[30.0] * 20)
    verdict = assess(order(timedelta(days=5)), parcel(last_scan_at=NOW - timedelta(hours=20)), NOW, model)
    assert verdict.kind is None and verdict.stalled
    assert verdict.next_check_at is not None and verdict.next_check_at <= NOW + timedelta(days=5)


def test_what_counts_as_a_stall_is_learned_per_carrier() -> None:
    slow_scanner = learned(scan_gap=[40.0] * 20, transit=[96.0] * 20)
    assert not assess(
        order(timedelta(days=2)), parcel(last_scan_at=NOW - timedelta(hours=45)), NOW, slow_scanner
    ).stalled
    # A carrier never seen is not judged by its silence: some never scan between hand-over and delivery.
    assert not assess(
        order(timedelta(days=2)),
        parcel(last_scan_at=NOW - timedelta(hours=PRIOR_SCAN_GAP_H * 1.3)),
        NOW,
        DeliveryModel(),
    ).stalled


def test_not_shipped_is_late_to_ship_once_the_trips_learned_mostly_take_longer_than_the_time_left() -> None:
    model = learned("*", transit=[48.0] * 40)
    verdict = assess(order(timedelta(hours=40), ship_by=NOW), None, NOW, model)
    assert verdict.kind == "order.late_to_ship" and verdict.details["confidence"] == 1.0
    early = assess(order(timedelta(days=4), ship_by=NOW), None, NOW, model)
    assert early.kind is None and early.probability == 0.0
    assert early.next_check_at is not None and NOW < early.next_check_at <= NOW + timedelta(hours=6)


def test_not_shipped_with_half_the_trips_still_in_time_is_not_told_early() -> None:
    """An even chance is not enough to tell a customer (a typical trip of this carrier would miss, yet
    nearly half the trips learned would still make it)."""
    model = learned(transit=[24.0] * 19 + [72.0] * 21)
    label = parcel(status="label_created", handed_over_at=None, last_scan_at=None)
    verdict = assess(order(timedelta(hours=40), ship_by=NOW), label, NOW, model)
    assert verdict.kind is None and verdict.probability == 0.525


def test_not_shipped_with_nothing_learned_is_told_only_at_the_last_call() -> None:
    """Cold start is never more eager than the plain rules: a late hand-over alone is not a late order."""
    late_hand_over = order(timedelta(hours=30), ship_by=NOW - timedelta(days=1))
    morning = NOW + timedelta(hours=20)
    quiet = assess(late_hand_over, None, NOW, DeliveryModel(), morning=morning)
    assert quiet.kind is None and quiet.next_check_at == morning
    assert assess(late_hand_over, None, morning, DeliveryModel(), morning=morning).kind == "order.late_to_ship"


def test_past_the_estimate_is_told_on_the_carriers_learned_estimate_error() -> None:
    """Twelve hours past the estimate with a day to the promise: told only when, of the parcels learned
    that were this late on their estimate, nearly all arrived more than a day late."""
    model_short = learned(eta_error=[1.0] * 40, eta_miss=[1.0] * 30 + [14.0] * 8 + [90.0] * 2 + [100.0] * 2)
    model_long = learned(eta_error=[1.0] * 40, eta_miss=[1.0] * 30 + [90.0] * 12)
    late_parcel = parcel(estimated_delivery_at=NOW - timedelta(hours=12))
    mostly_on_time = assess(order(timedelta(hours=24)), late_parcel, NOW, model_short)
    assert mostly_on_time.kind is None and mostly_on_time.overdue
    assert mostly_on_time.probability is not None and mostly_on_time.probability < 0.5
    told = assess(order(timedelta(hours=24)), late_parcel, NOW, model_long)
    assert (told.kind, told.reason) == ("shipment.delayed", "past the carrier's estimate and still not delivered")
    assert told.details["confidence"] == 1.0 and told.details["evidence"] and told.details["quiet_if"]
    # Nothing learned of this carrier's estimates: not told early (the plain rules tell nothing on this).
    assert assess(order(timedelta(hours=24)), late_parcel, NOW, DeliveryModel()).kind is None


def test_a_hub_scan_after_out_for_delivery_is_no_missed_last_call() -> None:
    model = learned(ofd_lead=[6.0] * 20)
    was_on_van = parcel(estimated_delivery_at=NOW + timedelta(hours=3), out_for_delivery_at=NOW - timedelta(hours=5))
    assert assess(order(timedelta(hours=5)), was_on_van, NOW, model).kind is None


def test_not_out_for_delivery_at_the_last_call_is_at_risk() -> None:
    model = learned(ofd_lead=[6.0] * 20)
    on_van = parcel(status="out_for_delivery", estimated_delivery_at=NOW + timedelta(hours=3))
    assert assess(order(timedelta(hours=5)), on_van, NOW, model).kind is None
    still_at_hub = parcel(estimated_delivery_at=NOW + timedelta(hours=3))
    assert assess(order(timedelta(hours=5)), still_at_hub, NOW, model).kind == "shipment.delayed"


def test_delivered_or_canceled_orders_are_left_alone() -> None:
    assert assess(order(timedelta(days=-1), delivered_at=NOW), None, NOW, DeliveryModel()).next_check_at is None
    assert assess(order(timedelta(days=-1), canceled_at=NOW), None, NOW, DeliveryModel()).next_check_at is None


def test_before_learning_anything_a_short_promise_is_taken_at_its_word() -> None:
    """A shop promising 3 days at checkout is not told its customers' orders will be late just because
    a typical trip elsewhere takes 3 days: until deliveries are learned, priors stay within the promise."""
    placed_now = Order(
        id="A1",
        customer_id="C1",
        placed_at=NOW,
        promised_by=NOW + timedelta(days=3),
        created_at=NOW,
        updated_at=NOW,
    )
    assert assess(placed_now, None, NOW, DeliveryModel()).kind is None
    # What the engine has learned wins over the promise: this carrier takes 4 days.
    slow = learned("ups", transit=[96.0] * 40)
    label = parcel(status="label_created", handed_over_at=None, last_scan_at=None)
    assert assess(placed_now, label, NOW, slow).kind == "order.late_to_ship"


def test_a_text_only_customer_is_warned_while_they_can_still_be_reached() -> None:
    """Promised at 06:00 (in the customer's night) and not out for delivery: the warning is due by the
    last moment a text reaches them before it, not at the usual last call, which falls in their night."""
    promise_at = NOW + timedelta(hours=18)
    reach_by = NOW + timedelta(hours=8)  # quiet hours begin then
    verdict = assess(order(timedelta(hours=18)), parcel(), NOW, DeliveryModel(), reach_by=reach_by)
    assert verdict.kind is None
    assert verdict.next_check_at == reach_by
    verdict = assess(order(timedelta(hours=18)), parcel(), reach_by, DeliveryModel(), reach_by=reach_by)
    assert (verdict.kind, verdict.reason) == ("shipment.delayed", "not out for delivery this close to the promise")
    assert promise_at - reach_by > timedelta(hours=8)  # the usual last call would have been after it


def test_silence_from_a_carrier_that_never_scans_mid_route_is_no_stall() -> None:
    """Its longest gap is the whole trip: a parcel quiet for days is simply on its way."""
    hand_to_door = learned(scan_gap=[120.0] * 20, transit=[120.0] * 20)
    quiet = parcel(handed_over_at=NOW - timedelta(days=4), last_scan_at=NOW - timedelta(days=4))
    verdict = assess(order(timedelta(days=2)), quiet, NOW, hand_to_door)
    assert verdict.kind is None and not verdict.stalled


def test_survival_warns_once_trips_this_long_mostly_miss_and_explains_itself() -> None:
    """Of this carrier's trips still going after 5 days, most took past the promise: warn, with the
    probability, the evidence and what would have kept it quiet; a day earlier the odds were fine."""
    trips = learned(transit=[float(h) for h in range(48, 148, 2)])  # 50 trips, 2 to 6 days
    promise_in = timedelta(hours=4)
    handed_120h_ago = parcel(handed_over_at=NOW - timedelta(hours=120), last_scan_at=NOW - timedelta(hours=120))
    verdict = assess(order(promise_in), handed_120h_ago, NOW, trips, warn_confidence=0.8)
    assert verdict.kind == "shipment.delayed"
    assert verdict.details["confidence"] >= 0.8 and verdict.details["evidence"] and verdict.details["quiet_if"]
    handed_48h_ago = parcel(handed_over_at=NOW - timedelta(hours=48), last_scan_at=NOW - timedelta(hours=48))
    assert assess(order(timedelta(hours=24)), handed_48h_ago, NOW, trips, warn_confidence=0.8).kind is None


def test_without_an_estimate_the_last_call_is_no_later_than_the_plain_rule() -> None:
    """Not out for delivery by 08:00 on the promised day: told then, as the plain rule would."""
    morning = NOW - timedelta(minutes=1)
    verdict = assess(order(timedelta(hours=13)), parcel(), NOW, DeliveryModel(), morning=morning)
    assert verdict.kind == "shipment.delayed"
    assert (
        assess(order(timedelta(hours=13)), parcel(), NOW, DeliveryModel(), morning=NOW + timedelta(hours=1)).kind
        is None
    )
