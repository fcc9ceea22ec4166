"""Shopify fulfillments and fulfillment events as `shipment.updated` (the shipping half of shopify.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.errors import InvalidEvent
from integrations.feeds._common import Json, first_instant, link, opt_instant, required_id, stamp, text

# Shopify's shipment_status / fulfillment event status → (canonical status, exception, message).
# ready_for_pickup is "the parcel is at a pickup point": the last step, not a fault, so out_for_delivery.
# A carrier's own "delayed" is a fault worth telling the customer about even without a new ETA.
STATUS: dict[str | None, tuple[str, str | None, str | None]] = {
    None: ("label_created", None, None),
    "label_printed": ("label_created", None, None),
    "label_purchased": ("label_created", None, None),
    "confirmed": ("label_created", None, None),
    "carrier_picked_up": ("in_transit", None, None),
    "picked_up": ("in_transit", None, None),
    "in_transit": ("in_transit", None, None),
    "out_for_delivery": ("out_for_delivery", None, None),
    "ready_for_pickup": ("out_for_delivery", None, "ready for pickup"),
    "attempted_delivery": ("exception", "other", "delivery attempt failed"),
    "delayed": ("exception", "other", "the carrier reports a delay"),
    "delivered": ("delivered", None, None),
    "failure": ("exception", "other", "delivery failed"),
}
# A fulfillment the merchant cancelled, or one that failed, no longer travels.
FULFILLMENT_FAULTS = {
    "cancelled": "fulfillment cancelled",
    "failure": "fulfillment failed",
    "error": "fulfillment failed",
}


def _shipment(order_id: str, status: str | None, *, occurred: datetime, **fields: Any) -> list[Json]:
    if status not in STATUS:
        return []  # a status Shopify added later: skip it rather than guess (the delivery is still accepted)
    canonical_status, exception, message = STATUS[status]
    shipment: Json = {"order_id": order_id, "status": canonical_status}
    if exception:
        shipment["exception"] = exception
    for name, value in {"message": message, **fields}.items():
        if value:
            shipment[name] = value
    return [{"type": "shipment.updated", "occurred_at": stamp(occurred), "shipment": shipment}]


def fulfillment(body: Json, fallback: datetime, *, created: bool) -> list[Json]:
    """fulfillments/create|update → shipment.updated (or nothing)."""
    order_id = required_id(body, "order_id", "fulfillment")
    occurred = first_instant(body, ("updated_at", "created_at"), "fulfillment") or fallback
    numbers = [n for n in body.get("tracking_numbers") or [] if isinstance(n, str) and n.strip()]
    tracking = text(body, "tracking_number") or (numbers[0].strip() if numbers else None)
    shipment_status = body.get("shipment_status")
    fault = FULFILLMENT_FAULTS.get(text(body, "status") or "")
    fields = {
        "carrier": text(body, "tracking_company"),
        "tracking_number": tracking,
        "tracking_url": link(body, "tracking_url", "tracking_urls"),
    }
    if fault:
        events = _shipment(order_id, "failure", occurred=occurred, **fields)
        events[0]["shipment"]["message"] = fault
        return events
    if not isinstance(shipment_status, str):
        # No carrier status: news only when the fulfillment is new. On an update (a merchant edit, say)
        # it would turn a parcel another feed saw moving back into "label created".
        return _shipment(order_id, None, occurred=occurred, **fields) if created else []
    return _shipment(order_id, shipment_status, occurred=occurred, **fields)


def fulfillment_event(body: Json, fallback: datetime) -> list[Json]:
    """fulfillment_events/create → shipment.updated (or nothing for a status we do not know)."""
    order_id = required_id(body, "order_id", "fulfillment_event")
    occurred = first_instant(body, ("happened_at", "created_at"), "fulfillment_event") or fallback
    status = text(body, "status")
    if status is None:
        raise InvalidEvent("fulfillment_event.status: missing")
    eta = opt_instant(body.get("estimated_delivery_at"))
    place = ", ".join(part for part in (text(body, "city"), text(body, "province"), text(body, "country")) if part)
    events = _shipment(
        order_id,
        status,
        occurred=occurred,
        estimated_delivery_at=stamp(eta) if eta else None,
        location=place or None,
    )
    message = text(body, "message")
    if events and message:
        events[0]["shipment"]["message"] = message
    return events
