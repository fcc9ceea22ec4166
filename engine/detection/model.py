"""A delivery model learned from the engine's own history: per-carrier distributions, in hours.

Nothing here knows how any particular carrier or data generator behaves; every number comes from
deliveries Forewarn has seen, falling back to all carriers pooled, then to a cautious prior.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, select

from engine.db import insert_if_absent, row_locks
from engine.models import CarrierStats, Order, Shipment

POOLED = "*"
CAP = 400  # recent samples kept per measure: enough for a stable 95th percentile, and it adapts
MIN_SAMPLES = 8


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


# The model moves slowly (hundreds of samples per measure); an hour of engine time is fresh enough.
MODEL_TTL = timedelta(hours=1)


class ModelCache:
    """The model, reloaded at most once an hour of engine time."""

    def __init__(self) -> None:
        self._model: DeliveryModel | None = None
        self._loaded_at: datetime | None = None

    def get(self, session: Session, now: datetime) -> DeliveryModel:
        if self._model is None or self._loaded_at is None or not (self._loaded_at <= now < self._loaded_at + MODEL_TTL):
            self._model, self._loaded_at = load_model(session), now
        return self._model

    def invalidate(self) -> None:
        self._model = None


def load_model(session: Session) -> DeliveryModel:
    model = DeliveryModel()
    for row in session.exec(select(CarrierStats)).all():
        model.samples[row.carrier] = {name: sorted(values) for name, values in row.samples.items()}
    return model


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
    if shipment.out_for_delivery_at is not None:
        seen["ofd_lead"] = _hours(delivered, shipment.out_for_delivery_at)
    if shipment.stalled_at is not None:
        seen["stall_remaining"] = _hours(delivered, shipment.stalled_at)
    if shipment.overdue_at is not None:
        seen["overdue_remaining"] = _hours(delivered, shipment.overdue_at)
    return {k: round(v, 3) for k, v in seen.items() if v >= 0}


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
