"""AfterShip tracking webhooks (`aftership-hmac-sha256`) as `shipment.updated`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.errors import InvalidEvent
from engine.events.schema import CanonicalEvent
from engine.inbound.feed import WebhookRequest
from engine.vocabulary import FeedSource
from integrations.feeds._common import (
    Json,
    canonical,
    date_or_instant,
    decode_object,
    digest,
    items,
    key_part,
    link,
    obj,
    opaque_id,
    opt_instant,
    opt_obj,
    stamp,
    text,
    verify_base64_hmac,
)

EVENTS = ("tracking_update", "edd_revise")

# Delivery status tag → (canonical status, exception, message). AvailableForPickup is the last step,
# not a fault; Expired means the carrier went silent for weeks, which the customer should hear about.
TAGS: dict[str, tuple[str, str | None, str | None]] = {
    "Pending": ("label_created", None, None),
    "InfoReceived": ("label_created", None, None),
    "InTransit": ("in_transit", None, None),
    "OutForDelivery": ("out_for_delivery", None, None),
    "AvailableForPickup": ("out_for_delivery", None, "ready for pickup"),
    "AttemptFail": ("exception", "other", "delivery attempt failed"),
    "Delivered": ("delivered", None, None),
    "Exception": ("exception", "other", None),
    "Expired": ("exception", "other", "no carrier updates for a long time"),
}
# Exception sub-statuses with a more precise meaning (AfterShip's "Delivery Sub-statuses" list).
SUBTAGS: dict[str, tuple[str, str | None]] = {
    "Exception_002": ("exception", "address"),  # customer moved
    "Exception_004": ("exception", "customs"),  # delayed in customs clearance
    "Exception_007": ("exception", "address"),  # incorrect address
    "Exception_010": ("returned", None),  # returning to sender
    "Exception_011": ("returned", None),  # returned to sender
    "Exception_012": ("exception", "damaged"),
    "Exception_013": ("lost", None),
    "Exception_017": ("exception", "weather"),  # delayed by extreme weather
    "Exception_018": ("exception", "customs"),  # incorrect or missing documents
    "Exception_021": ("lost", None),  # disposed of
}
# Estimates, most authoritative first: AfterShip's merged latest, a merchant override, the carrier, AI.
ESTIMATES = (
    ("latest_estimated_delivery", ("datetime", "datetime_max")),
    ("custom_estimated_delivery_date", ("datetime", "datetime_max")),
    ("courier_estimated_delivery_date", ("estimated_delivery_date", "estimated_delivery_date_max")),
    ("aftership_estimated_delivery_date", ("estimated_delivery_date", "estimated_delivery_date_max")),
)


class AfterShipFeed:
    source = FeedSource.AFTERSHIP

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def verify(self, request: WebhookRequest) -> None:
        verify_base64_hmac(self._secret, request, "aftership-hmac-sha256")

    def parse(self, request: WebhookRequest) -> list[CanonicalEvent]:
        body = decode_object(request.body)
        kind = text(body, "event")
        if kind is None:
            raise InvalidEvent("event: missing (expected 'tracking_update' or 'edd_revise')")
        if kind not in EVENTS:
            return []  # pending-time alerts and other triggers carry no new state for us
        msg = obj(body, "msg", "body")
        tag = text(msg, "tag")
        if tag is None:
            raise InvalidEvent("msg.tag: missing")
        number = opaque_id(msg.get("tracking_number"))
        if number is None:
            raise InvalidEvent("msg.tracking_number: missing")
        if tag not in TAGS:
            return []  # a tag AfterShip adds later: skip it rather than guess
        status, exception, message = TAGS[tag]
        subtag = text(msg, "subtag") or ""
        if tag == "Exception":
            status, exception = SUBTAGS.get(subtag, (status, exception))
            message = text(msg, "subtag_message")
        order_id = opaque_id(msg.get("order_id")) or opaque_id(msg.get("order_number")) or f"tracking:{number}"
        shipment: Json = {"order_id": order_id, "tracking_number": number, "status": status}
        occurred, checkpoint = _latest_checkpoint(msg)
        for name, value in (
            ("carrier", text(msg, "slug")),
            ("exception", exception),
            ("message", message or checkpoint.get("message")),
            ("location", checkpoint.get("location")),
            ("estimated_delivery_at", _estimate(msg)),
            ("tracking_url", link(msg, "courier_tracking_link", "aftership_tracking_url")),
        ):
            if value:
                shipment[name] = value
        at = occurred or opt_instant(msg.get("updated_at")) or _from_unix(body.get("ts")) or request.received_at
        event_id = opaque_id(body.get("event_id"))
        # event_id is the same on every retry; without one (older payloads) the body is the key.
        key = key_part(event_id) if event_id else digest(request.body)
        raw = {"id": f"aftership:{key}", "type": "shipment.updated", "occurred_at": stamp(at), "shipment": shipment}
        return canonical("aftership", [raw])


def _estimate(msg: Json) -> str | None:
    for field, keys in ESTIMATES:
        block = opt_obj(msg, field)
        for key in keys:
            moment = date_or_instant(block.get(key))
            if moment is not None:
                return stamp(moment)
    moment = date_or_instant(msg.get("expected_delivery"))  # the older, single field
    return stamp(moment) if moment else None


def _latest_checkpoint(msg: Json) -> tuple[datetime | None, dict[str, str]]:
    """The newest checkpoint by time, whatever order they arrive in."""
    dated = [(moment, c) for c in items(msg, "checkpoints") if (moment := _checkpoint_time(c))]
    if not dated:
        return None, {}
    moment, newest = max(dated, key=lambda pair: pair[0])
    found: dict[str, str] = {}
    message = text(newest, "message", "subtag_message")
    if message:
        found["message"] = message
    parts = [text(newest, key) for key in ("city", "state", "country_name")]
    place = ", ".join(part for part in parts if part) or text(newest, "location")
    if place:
        found["location"] = place
    return moment, found


def _checkpoint_time(checkpoint: Json) -> datetime | None:
    # checkpoint_time is carrier-local and may lack an offset; then AfterShip's own created_at is the instant.
    return opt_instant(checkpoint.get("checkpoint_time")) or opt_instant(checkpoint.get("created_at"))


def _from_unix(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None
