"""A delivery model learned from the engine's own history: per-carrier distributions, in hours.

Nothing here knows how any particular carrier or data generator behaves; every number comes from
deliveries Forewarn has seen, falling back to all carriers pooled, then to a cautious prior.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from engine.db import insert_if_absent, row_locks
from engine.models import CarrierStats, Order, Shipment

POOLED = "*"
CAP = 400  # recent samples kept per measure: enough for a stable 95th percentile, and it adapts
MIN_SAMPLES = 8
# A probability is stated only from enough of the carrier's own trips, and enough of them as long as this one.
SURVIVAL_MIN_SAMPLES = 40
SURVIVAL_MIN_SURVIVORS = 12


def _hours(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 3600


@dataclass
class DeliveryModel:
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # carrier → measure → sorted

    def quantile(self, carrier: str, measure: str, q: float, *, prior: float) -> float:
        for key in (carrier, POOLED):
            values = self.samples.get(key, {}).get(measure, [])
            if len(values) >= MIN_SAMPLES:
                index = min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))
                return values[index]
        return prior

    def learned(self, carrier: str, measure: str) -> list[float]:
        """This carrier's own samples (sorted), empty until it has enough to speak for itself."""
        values = self.samples.get(carrier, {}).get(measure, [])
        return values if len(values) >= MIN_SAMPLES else []

    def miss_probability(self, carrier: str, elapsed_h: float, allowed_h: float) -> tuple[float, int] | None:
        """P(delivery later than `allowed_h` after hand-over | not delivered `elapsed_h` after it), from this
        carrier's learned transit times (a survival view: only trips that lasted at least as long as this one
        has so far count), and how many trips that rests on. None until enough such trips are known."""
        return _survival(self.samples.get(carrier, {}).get("transit", []), elapsed_h, allowed_h)

    def chance_longer(self, carrier: str, measure: str, elapsed_h: float, allowed_h: float) -> tuple[float, int] | None:
        """The same survival view of any measure (e.g. stall → delivery), from this carrier's samples or, while
        it has too few, all carriers' pooled: a stall means the same thing on any network that scans."""
        for key in (carrier, POOLED):
            judged = _survival(self.samples.get(key, {}).get(measure, []), elapsed_h, allowed_h)
            if judged is not None:
                return judged
        return None


def _survival(values: list[float], elapsed_h: float, allowed_h: float) -> tuple[float, int] | None:
    """Of the sorted `values` longer than `elapsed_h`, the share longer than `allowed_h`, and how many."""
    if len(values) < SURVIVAL_MIN_SAMPLES:
        return None
    survivors = len(values) - bisect.bisect_right(values, elapsed_h)
    if survivors < SURVIVAL_MIN_SURVIVORS:
        return None
    later = len(values) - bisect.bisect_right(values, allowed_h)
    return later / survivors, survivors


# The model moves slowly (hundreds of samples per measure); an hour of engine time is fresh enough.
MODEL_TTL = timedelta(hours=1)


class ModelCache:
    """The model, reloaded at most once an hour of engine time.

    A reload first reads each carrier's version (deliveries learned, last update) and decodes and sorts
    the samples only of carriers that changed: the samples are most of the row, and most carriers have
    not moved within the hour.
    """

    def __init__(self) -> None:
        self._model: DeliveryModel | None = None
        self._loaded_at: datetime | None = None
        self._versions: dict[str, tuple[int, datetime]] = {}

    def get(self, session: Session, now: datetime) -> DeliveryModel:
        if self._model is None or self._loaded_at is None or not (self._loaded_at <= now < self._loaded_at + MODEL_TTL):
            self._model, self._loaded_at = self._reload(session), now
        return self._model

    def invalidate(self) -> None:
        self._model = None
        self._versions = {}

    def _reload(self, session: Session) -> DeliveryModel:
        previous = self._model.samples if self._model is not None else {}
        versions = {
            carrier: (deliveries, updated_at)
            for carrier, deliveries, updated_at in session.exec(
                select(CarrierStats.carrier, CarrierStats.deliveries, CarrierStats.updated_at)
            ).all()
        }
        changed = [c for c, version in versions.items() if c not in previous or self._versions.get(c) != version]
        model = DeliveryModel({c: previous[c] for c in versions if c not in changed})
        if changed:
            rows = session.exec(select(CarrierStats).where(col(CarrierStats.carrier).in_(changed))).all()
            for row in rows:
                model.samples[row.carrier] = _sorted_samples(row)
        self._versions = versions
        return model


def _sorted_samples(row: CarrierStats) -> dict[str, list[float]]:
    return {name: sorted(values) for name, values in row.samples.items()}


def observations(order: Order, shipment: Shipment) -> dict[str, float]:
    """What one delivered parcel teaches: each value in hours."""
    delivered = shipment.delivered_at
    if delivered is None:
        return {}
    seen: dict[str, float] = {}
    if shipment.handed_over_at is not None:
        seen["transit"] = _hours(delivered, shipment.handed_over_at)
        seen["scan_gap"] = shipment.max_scan_gap_hours
    eta = shipment.first_estimated_delivery_at
    if eta is not None and shipment.stalled_at is None and shipment.exception is None:
        seen["eta_error"] = _hours(delivered, eta)
    if eta is not None and shipment.exception is None:
        # How late against the carrier's word, stalls included: what a parcel past its estimate can expect.
        seen["eta_miss"] = _hours(delivered, eta)
    if shipment.out_for_delivery_at is not None:
        seen["ofd_lead"] = _hours(delivered, shipment.out_for_delivery_at)
    if shipment.stalled_at is not None:
        seen["stall_remaining"] = _hours(delivered, shipment.stalled_at)
    if shipment.overdue_at is not None:
        seen["overdue_remaining"] = _hours(delivered, shipment.overdue_at)
    return {k: round(v, 3) for k, v in seen.items() if v >= 0 or k == "eta_miss"}


def learn_from_delivery(session: Session, order: Order, shipment: Shipment, *, now: datetime) -> None:
    seen = observations(order, shipment)
    if not seen:
        return
    for key in {shipment.carrier or POOLED, POOLED}:
        row = session.get(CarrierStats, key, with_for_update=row_locks(session))
        if row is None:
            insert_if_absent(
                session, CarrierStats, {"carrier": key, "deliveries": 0, "samples": {}, "updated_at": now}, ["carrier"]
            )
            row = session.get(CarrierStats, key, with_for_update=row_locks(session))
            assert row is not None
        samples = {name: list(values) for name, values in row.samples.items()}
        for name, value in seen.items():
            samples[name] = [*samples.get(name, []), value][-CAP:]
        row.samples, row.deliveries, row.updated_at = samples, row.deliveries + 1, now
