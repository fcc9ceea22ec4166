"""What the template context says about a situation beyond the raw rows: the facts the words follow.

Computed from the context's own `order`, `shipment`, `incident`, `situation` and `now`, on the
customer's calendar, so a message is chosen from what actually happened (a parcel reported lost, one
that arrived on the promised day after all) and never from the kind of the thread's first warning:

- `delivery`: the promise check (is the order late, did it miss the day, what window to give),
  and where the parcel is now;
- `problem`: what went wrong, in one word;
- `outcome`: how it ended (on time, late, returned, lost, canceled), None while it is open;
- `order.plural`, `shipment.place`, `incident.worse`: grammar, a location worth naming, and severity.

`derive(context)` fills them in place; `build_context` calls it, and so do `sample_context` and tests
after changing a raw field, so a preview always agrees with the engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from engine.compose.formatting import formatter

EXCEPTIONS = ("address", "customs", "damaged", "weather")
ENDED = ("lost", "returned")
SEVERITY = {"degraded_performance": 1, "partial_outage": 2, "major_outage": 3}
# Parcel status → where it is, as the words need it.
_WHERE = {
    "label_created": "not_shipped",
    "in_transit": "moving",
    "out_for_delivery": "out_for_delivery",
    "exception": "held",
    "lost": "lost",
    "returned": "returned",
    "delivered": "delivered",
}
_KIND_PROBLEM = {
    "order.late_to_ship": "late_to_ship",
    "shipment.delayed": "delayed",
    "shipment.stalled": "stalled",
}
# English nouns that read as plural ("shoes", "headphones"); not "glass", "status", "iris", "kids' …".
_PLURAL_NOUN = re.compile(r".*[^su'i]s")
_DEPOT = re.compile(
    r"(hub|depot|terminal|facility|station|gateway|dc|sort(ing)?\s+(center|centre|facility)|warehouse)"
    r"\s*[#:-]?\s*[\w-]*\d[\w-]*",
    re.IGNORECASE,
)


def derive(context: dict[str, Any]) -> dict[str, Any]:
    """Fill in the derived facts (in place) and return the context."""
    order, shipment, incident = context.get("order"), context.get("shipment"), context.get("incident")
    situation = context.get("situation") or {}
    now: datetime = context["now"]
    zone = (context.get("customer") or {}).get("timezone") or "UTC"
    if isinstance(order, dict):
        order["plural"] = _plural(order)
    if isinstance(shipment, dict):
        shipment["place"] = place(shipment.get("location"))
    context["delivery"] = _delivery(order, shipment, now, zone) if isinstance(order, Mapping) else None
    context["problem"] = _problem(situation, shipment) if isinstance(order, Mapping) else None
    context["outcome"] = _outcome(order, shipment, zone) if isinstance(order, Mapping) else None
    if isinstance(incident, dict):
        previous = incident.get("previous_status")
        now_level, told = SEVERITY.get(str(incident["status"]), 0), SEVERITY.get(str(previous), 0)
        incident["worse"] = previous is not None and now_level > told
        incident["better"] = previous is not None and 0 < now_level < told
        if incident["worse"] or incident["better"]:
            # A promised check-in that finds the severity changed since the customer was told is news, not
            # "no news yet": it reads as the update it is ("getting better, now slow").
            context["check_in"] = False
    return context


def place(location: object) -> str | None:
    """The carrier's location if it names a place ("Campinas, SP"); None for a depot code ("Hub 8", "PHX3"),
    which means nothing to a customer and must not read as a town."""
    if not isinstance(location, str) or not location.strip():
        return None
    text = location.strip()
    if _DEPOT.fullmatch(text) or (any(c.isdigit() for c in text) and " " not in text):
        return None
    return text


def _days(zone: str, later: datetime, earlier: datetime) -> int:
    return formatter("en", zone).days_after(later, earlier)


def _delivery(order: Mapping[str, Any], shipment: Mapping[str, Any] | None, now: datetime, zone: str) -> dict[str, Any]:
    promise: datetime | None = order.get("promised_by")
    eta: datetime | None = shipment.get("estimated_delivery_at") if shipment else None
    if eta is not None and _days(zone, eta, now) < 0:
        eta = None  # an estimate for a day already past is stale: no estimate
    delivered = order.get("delivered_at") or (shipment.get("delivered_at") if shipment else None)
    overdue = promise is not None and delivered is None and _days(zone, now, promise) > 0
    late = overdue or (eta is not None and promise is not None and _days(zone, eta, promise) > 0)
    if delivered is not None and promise is not None:
        late = _days(zone, delivered, promise) > 0
    window_start = window_end = None
    if eta is not None:
        window_start, window_end = eta, eta + timedelta(days=1)
        if not late and promise is not None:
            window_end = min(window_end, promise)  # in time: the window never reaches past the promised day
            window_end = max(window_end, eta)
    days_late = None
    if late and promise is not None:
        reference = delivered or eta
        days_late = _days(zone, reference, promise) if reference is not None else None
    status = str(shipment.get("status")) if shipment else "label_created"
    if shipment is None or (status == "label_created" and not shipment.get("handed_over_at")):
        where = "not_shipped"
    else:
        where = _WHERE.get(status, "moving")
    return {
        "promised_by": promise,
        "eta": eta,
        "late": late,
        "overdue": overdue,
        "in_time": eta is not None and not late and delivered is None,
        "window_start": window_start,
        "window_end": window_end,
        "days_late": days_late,
        "status": where,
        "delivered_at": delivered,
    }


def _problem(situation: Mapping[str, Any], shipment: Mapping[str, Any] | None) -> str | None:
    """This situation's problem; once resolved, the carrier's report if there was one (the real cause)."""
    kind, stage = situation.get("kind"), situation.get("stage")
    reported = _reported(shipment)
    if kind == "shipment.exception":
        return reported or "other"
    if stage == "resolved" and reported is not None:
        return reported
    return _KIND_PROBLEM.get(str(kind))


def _reported(shipment: Mapping[str, Any] | None) -> str | None:
    """What the carrier reported last, whether or not the parcel has moved on since."""
    if not shipment:
        return None
    status, exception = shipment.get("status"), shipment.get("exception")
    if status in ENDED:
        return str(status)
    if exception in (*EXCEPTIONS, *ENDED):
        return str(exception)
    return "other" if exception else None


def _outcome(order: Mapping[str, Any], shipment: Mapping[str, Any] | None, zone: str) -> str | None:
    delivered = order.get("delivered_at") or (shipment.get("delivered_at") if shipment else None)
    promise = order.get("promised_by")
    if delivered is not None:
        if promise is None:
            return "delivered"
        return "late" if _days(zone, delivered, promise) > 0 else "on_time"
    if order.get("canceled_at") is not None:
        return "canceled"
    status = shipment.get("status") if shipment else None
    return str(status) if status in ENDED else None


def _plural(order: Mapping[str, Any]) -> bool:
    """Whether `order.items` takes a plural verb in English: several things, or one plural noun."""
    names = {str(line.get("name", "")).strip().lower() for line in order.get("lines") or []}
    names.discard("")
    if len(names) > 1:
        return True
    if not names:
        return False
    words = next(iter(names)).split()
    return bool(words) and bool(_PLURAL_NOUN.fullmatch(words[-1]))
