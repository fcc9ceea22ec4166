"""When a parcel without a carrier estimate is likely to arrive: what a promise is made from when the
carrier gives no date (engine/promises/choose.py).

Read from the engine's own learned transit times (engine.detection.model), as a survival view: of this
carrier's trips that lasted at least as long as this one has so far, by when had most (`LIKELY`) been
delivered? A parcel a fortnight into a month-long route is not expected tomorrow just because its
order's promise date is. Nothing is said until enough such trips are known (`MIN_SURVIVORS`), nor for a
parcel that is not moving (held, lost, returned): its news is not a delivery.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from engine.detection.model import ModelCache
from engine.models import Shipment
from engine.runtime import Runtime

LIKELY = 0.75
MIN_SURVIVORS = 8
MOVING = frozenset({"in_transit", "out_for_delivery"})


def likely_delivery(session: Session, rt: Runtime, shipment: Shipment | None, *, now: datetime) -> datetime | None:
    """When this parcel is likely delivered by, from its carrier's learned transit times; None if unknown."""
    if shipment is None or shipment.status not in MOVING or shipment.handed_over_at is None or not shipment.carrier:
        return None
    # The detection step's cache (engine.detection.orders.delivery_model): one model per runtime.
    cache: ModelCache = rt.memo.setdefault("delivery_model", ModelCache())
    transit = cache.get(session, now).learned(shipment.carrier, "transit")
    return survival_quantile(transit, since=shipment.handed_over_at, now=now)


def survival_quantile(transit_hours: Sequence[float], *, since: datetime, now: datetime) -> datetime | None:
    """`since` plus the `LIKELY` quantile of the (sorted) trips longer than the time elapsed by `now`."""
    elapsed = (now - since).total_seconds() / 3600
    survivors = transit_hours[bisect.bisect_right(transit_hours, elapsed) :]
    if len(survivors) < MIN_SURVIVORS:
        return None
    return since + timedelta(hours=survivors[max(0, math.ceil(LIKELY * len(survivors)) - 1)])
