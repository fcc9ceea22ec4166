"""Judge one open order at one moment: is it late, or will it be, and when to look again.

Pure: it reads the order, its parcel, the time and the learned model, and returns a verdict.
Warnings are raised only when the evidence says the promise will be missed (or already was),
so customers hear early without being cried wolf at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.detection.model import POOLED, DeliveryModel
from engine.models import Order, Shipment
from engine.vocabulary import SituationKind

LATE_TO_SHIP, DELAYED, STALLED = (
    SituationKind.ORDER_LATE_TO_SHIP,
    SituationKind.SHIPMENT_DELAYED,
    SituationKind.SHIPMENT_STALLED,
)

# Cautious priors, used only until the engine has seen enough deliveries to learn its own.
PRIOR_TRANSIT_H = 72.0
PRIOR_SCAN_GAP_H = 36.0
PRIOR_ETA_ERROR_H = 12.0
PRIOR_OFD_LEAD_H = 8.0
PRIOR_STALL_REMAINING_H = 72.0
# Before the engine has learned anything, the merchant's own promise is the best evidence of how long
# delivery takes where it sells: a promise is made to be kept. So no prior may exceed this share of the
# order's promise window (placed → promised), and the transit prior not the merchant's own plan (ship_by
# → promised): a shop promising 3 days is not warned at checkout that a typical trip takes 3 days. The
# absolute priors above fit promise windows of about a week.
PRIOR_SHARE_OF_WINDOW = {
    "transit": 0.4,
    "scan_gap": 0.2,
    "eta_error": 0.07,
    "ofd_lead": 0.05,
    "stall_remaining": 0.4,
}
RECHECK = timedelta(hours=6)  # while a parcel is stalled or overdue, look again this often
TROUBLE = ("exception", "returned", "lost")


@dataclass
class Verdict:
    kind: SituationKind | None = None  # situation to raise, if any
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    next_check_at: datetime | None = None
    stalled: bool = False
    overdue: bool = False
    probability: float | None = None  # of missing the promise, when the survival view could state one


def _h(hours: float) -> timedelta:
    return timedelta(hours=hours)


class _Learned:
    """The model's figure for a carrier, or while it knows too little, a prior bounded by the promise."""

    def __init__(
        self, model: DeliveryModel, carrier: str, order: Order, promise: datetime, confidence: float | None
    ) -> None:
        self.model, self.carrier = model, carrier
        self.confidence = confidence  # the chance of missing the promise at which an inference warns
        placed = order.placed_at or order.created_at
        self.window_h = _hours(promise - placed) if placed is not None and promise > placed else None
        # The merchant's own plan: handed over by ship_by, delivered by the promise.
        ship_by = order.ship_by
        self.planned_transit_h = _hours(promise - ship_by) if ship_by is not None and promise > ship_by else None

    def hours(self, measure: str, q: float, prior: float) -> float:
        if measure == "transit" and self.planned_transit_h is not None:
            prior = min(prior, self.planned_transit_h)
        elif self.window_h is not None:
            prior = min(prior, PRIOR_SHARE_OF_WINDOW[measure] * self.window_h)
        return self.model.quantile(self.carrier, measure, q, prior=prior)


def _hours(span: timedelta) -> float:
    return span.total_seconds() / 3600


def assess(
    order: Order,
    shipment: Shipment | None,
    now: datetime,
    model: DeliveryModel,
    *,
    reach_by: datetime | None = None,
    morning: datetime | None = None,
    warn_confidence: float | None = 0.95,
) -> Verdict:
    """`reach_by`: the last moment a warning still reaches the customer before the promise, when that is
    earlier than the promise itself (a customer told only by text, with the promise in their night).
    `morning`: 08:00 in the customer's zone on the promised day, the plain rule's last call: a parcel
    with no estimate that is not out for delivery by then is told no later than the plain rule would.
    `warn_confidence`: the probability of missing the promise at which an inference warns (None: the
    probability is only stated on the verdict, for a back-test's sweep to decide on afterwards)."""
    promise = order.promised_by
    if promise is None or order.canceled_at is not None or order.delivered_at is not None:
        return Verdict()
    if shipment is not None and shipment.delivered_at is not None:
        return Verdict()
    carrier = shipment.carrier if shipment is not None and shipment.carrier else POOLED
    learned = _Learned(model, carrier, order, promise, warn_confidence)
    if shipment is None or shipment.handed_over_at is None:
        if order.ship_by is None and (carrier == POOLED or not model.learned(carrier, "transit")):
            # No planned hand-over and no carrier of its own to judge by (all carriers pooled say little
            # about this one): nothing earlier is known, so only the last call.
            return _not_shipped_unplanned(promise, now, morning)
        return _not_shipped(promise, now, learned, morning)
    if shipment.estimated_delivery_at is None and shipment.status not in TROUBLE:
        return _without_estimate(promise, shipment, now, learned, reach_by, morning, warn_confidence)
    return _in_transit(promise, shipment, now, learned, reach_by=reach_by)


def _not_shipped_unplanned(promise: datetime, now: datetime, morning: datetime | None) -> Verdict:
    """No hand-over date was planned, so nothing says when it should have left: only the last call."""
    last_call = min(morning or promise, promise)
    if now >= last_call:
        reason = "not yet with the carrier on the day of the promise"
        return _warn(Verdict(), LATE_TO_SHIP, reason, {"confidence": None, "quiet_if": "handed over earlier"}, now)
    return Verdict(next_check_at=last_call)


def _without_estimate(
    promise: datetime,
    shipment: Shipment,
    now: datetime,
    learned: _Learned,
    reach_by: datetime | None,
    morning: datetime | None,
    warn_confidence: float | None,
) -> Verdict:
    """A parcel the carrier gives no estimate for: judged on how long this carrier's trips take, given that
    this one has not arrived yet (a survival view), never on silence from a carrier that is silent anyway."""
    handed = shipment.handed_over_at
    assert handed is not None
    checks: list[datetime] = []
    verdict = Verdict()
    if shipment.status != "out_for_delivery":
        if _scans_mid_route(learned):
            warned = _stalled(verdict, shipment, promise, now, learned, checks)
            if warned is not None:
                return warned
        if learned.carrier != POOLED:
            judged = learned.model.miss_probability(learned.carrier, _hours(now - handed), _hours(promise - handed))
            if judged is not None:
                p, trips = judged
                verdict.probability = max(p, verdict.probability or 0.0)
                if warn_confidence is not None and p >= warn_confidence:
                    details = {
                        "confidence": round(p, 3),
                        "evidence": f"{trips} of this carrier's trips lasted this long; "
                        f"{round(p * trips)} of them took past the promise",
                        "quiet_if": f"delivery chance by the promise above {1 - warn_confidence:.0%}",
                    }
                    reason = "this carrier's trips that take this long mostly miss the promise"
                    return _warn(verdict, DELAYED, reason, details, now)
                checks.append(now + RECHECK)
        floor_call = min(morning, promise) if morning is not None else None
        warned = _last_call(verdict, promise, now, learned, checks, reach_by=_earliest(reach_by, floor_call))
        if warned is not None:
            return warned
    return _quiet_until_next_check(verdict, promise, now, checks)


def _quiet_until_next_check(verdict: Verdict, promise: datetime, now: datetime, checks: list[datetime]) -> Verdict:
    """Nothing earlier warned: late once the promise has passed, otherwise look again at the next check
    (the promise itself among them)."""
    if now > promise:
        return _warn(verdict, DELAYED, "the promised time has passed", {"eta": None}, now)
    checks.append(promise + timedelta(minutes=1))
    verdict.next_check_at = min(c for c in checks if c > now) if any(c > now for c in checks) else now + RECHECK
    return verdict


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(x for x in (a, b) if x is not None) if a is not None or b is not None else None


def _scans_mid_route(learned: _Learned) -> bool:
    """Whether silence means anything for this carrier: its longest gap between scans is well short of
    a whole trip. Unknown until learned (a carrier never seen is not judged by its silence)."""
    gaps = learned.model.learned(learned.carrier, "scan_gap")
    transit = learned.model.learned(learned.carrier, "transit")
    if not gaps or not transit:
        return False
    return gaps[len(gaps) // 2] < 0.5 * transit[len(transit) // 2]


def _not_shipped(promise: datetime, now: datetime, learned: _Learned, morning: datetime | None) -> Verdict:
    """Not with the carrier yet: of the trips learned (this carrier's, or all carriers' pooled while it has
    too few), the share that took longer than the time left is the least chance of missing the promise
    (the hand-over itself is still to come). Told at `FOREWARN_WARN_CONFIDENCE`; with nothing learned,
    only the last call, as the plain rules would."""
    judged = learned.model.chance_longer(learned.carrier, "transit", 0.0, _hours(promise - now))
    if judged is None:
        return _not_shipped_unplanned(promise, now, morning)
    p, trips = judged
    verdict = Verdict(probability=p)
    if learned.confidence is not None and p >= learned.confidence:
        details = {
            "confidence": round(p, 3),
            "evidence": f"{round(p * trips)} of {trips} trips learned took longer than the time left",
            "quiet_if": "handed over while a trip could still make it",
        }
        return _warn(verdict, LATE_TO_SHIP, "not with the carrier in time to make the promise", details, now)
    last_call = _earliest(morning, promise)
    assert last_call is not None
    if now >= last_call:
        return _not_shipped_unplanned(promise, now, morning)
    # The chance only grows while it waits: look again as the time left shrinks past the trips learned.
    verdict.next_check_at = min(last_call, now + RECHECK)
    return verdict


def _in_transit(
    promise: datetime, shipment: Shipment, now: datetime, learned: _Learned, *, reach_by: datetime | None
) -> Verdict:
    eta = shipment.estimated_delivery_at
    if shipment.status in TROUBLE:
        return Verdict(next_check_at=now + RECHECK)  # the exception rule already told them
    if eta is not None and eta > promise:
        return Verdict(DELAYED, "the carrier's estimate is after the promise", {"eta": eta}, max(eta, now + RECHECK))
    verdict = Verdict()
    checks: list[datetime] = []
    moving = shipment.status != "out_for_delivery"
    # Out for delivery once is out for delivery (as for the plain rules): a hub scan after it is no news.
    unseen_on_van = moving and shipment.out_for_delivery_at is None
    warned = (
        (_stalled(verdict, shipment, promise, now, learned, checks) if moving else None)
        or (_overdue(verdict, eta, promise, now, learned, checks) if eta is not None else None)
        or (_last_call(verdict, promise, now, learned, checks, reach_by=reach_by) if unseen_on_van else None)
    )
    if warned is not None:
        return warned
    return _quiet_until_next_check(verdict, promise, now, checks)


def _stalled(
    verdict: Verdict, shipment: Shipment, promise: datetime, now: datetime, learned: _Learned, checks: list[datetime]
) -> Verdict | None:
    """No scan for longer than this carrier's usual gap: a warning when, of the stalls learned that lasted
    this long, enough ended after the time left. Stalls are learned from every parcel marked stalled, the
    ones that arrived in time too; until enough are known a stall is noted, never told (plain rules, the
    floor, tell nothing on silence either)."""
    last_scan = shipment.last_scan_at or shipment.handed_over_at
    assert last_scan is not None
    gap = _h(max(learned.hours("scan_gap", 0.99, PRIOR_SCAN_GAP_H) * 1.25, 12.0))
    remaining = _h(learned.hours("stall_remaining", 0.5, PRIOR_STALL_REMAINING_H))
    verdict.stalled = _past(last_scan + gap, remaining, promise, now, checks)
    if not verdict.stalled or now >= promise:
        return None
    since = shipment.stalled_at or now
    judged = learned.model.chance_longer(
        learned.carrier, "stall_remaining", _hours(now - since), _hours(promise - since)
    )
    checks.append(now + RECHECK)
    if judged is None:
        return None
    p, stalls = judged
    verdict.probability = max(p, verdict.probability or 0.0)
    if learned.confidence is None or p < learned.confidence:
        return None
    details = {
        "last_scan_at": last_scan,
        "confidence": round(p, 3),
        "evidence": f"{stalls} stalls learned lasted this long; {round(p * stalls)} of them ended past the promise",
        "quiet_if": "a scan, or a delivery chance by the promise above " + f"{1 - learned.confidence:.0%}",
    }
    return _warn(verdict, STALLED, "no scan for longer than is normal for this carrier", details, now)


def _overdue(
    verdict: Verdict, eta: datetime, promise: datetime, now: datetime, learned: _Learned, checks: list[datetime]
) -> Verdict | None:
    """Judged on the carrier's learned estimate error, given that this parcel is not here yet: of the parcels
    learned that were still on their way this long past their estimate, the share that arrived after the
    promise. Past the estimate by more than its usual error it is marked overdue; told at the confidence."""
    tolerance = _h(max(learned.hours("eta_error", 0.95, PRIOR_ETA_ERROR_H), 1.0))
    verdict.overdue = now >= eta + tolerance
    judged = learned.model.chance_longer(learned.carrier, "eta_miss", _hours(now - eta), _hours(promise - eta))
    checks.append(eta + tolerance if not verdict.overdue else now + RECHECK)
    if judged is None or now >= promise:
        return None
    p, trips = judged
    verdict.probability = max(p, verdict.probability or 0.0)
    if learned.confidence is None or p < learned.confidence or not verdict.overdue:
        return None
    details = {
        "eta": None,
        "confidence": round(p, 3),
        "evidence": f"{trips} parcels learned were this late on their estimate; "
        f"{round(p * trips)} of them arrived past the promise",
        "quiet_if": "a delivery chance by the promise above " + f"{1 - learned.confidence:.0%}",
    }
    return _warn(verdict, DELAYED, "past the carrier's estimate and still not delivered", details, now)


def _past(deadline: datetime, remaining: timedelta, promise: datetime, now: datetime, checks: list[datetime]) -> bool:
    """Whether `deadline` has passed; notes when to look again: at the deadline, or (past it, with the
    rest of the trip still fitting) when it would no longer fit."""
    if now < deadline:
        checks.append(deadline)
        return False
    if now + remaining <= promise:
        checks.extend([promise - remaining, now + RECHECK])
    return True


def _last_call(
    verdict: Verdict,
    promise: datetime,
    now: datetime,
    learned: _Learned,
    checks: list[datetime],
    *,
    reach_by: datetime | None,
) -> Verdict | None:
    """Parcels that make it are usually out for delivery by now: one that is not will not."""
    last_call = promise - _h(learned.hours("ofd_lead", 0.95, PRIOR_OFD_LEAD_H))
    if reach_by is not None and reach_by < last_call:
        # Not out for delivery by the evening before a promise in the customer's night: it will not
        # make it, and a text sent later would wait for a morning that is already too late.
        last_call = reach_by
    if now >= last_call:
        return _warn(verdict, DELAYED, "not out for delivery this close to the promise", {"eta": None}, now)
    checks.append(last_call)
    return None


def _warn(verdict: Verdict, kind: SituationKind, reason: str, details: dict[str, Any], now: datetime) -> Verdict:
    verdict.kind, verdict.reason, verdict.details = kind, reason, details
    verdict.next_check_at = now + RECHECK
    return verdict
