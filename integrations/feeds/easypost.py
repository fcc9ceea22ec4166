"""EasyPost tracker events (`X-Hmac-Signature: hmac-sha256-hex=…`) as `shipment.updated`."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

from engine.errors import InvalidEvent, SignatureError
from engine.events.schema import CanonicalEvent
from engine.inbound.feed import WebhookRequest
from engine.vocabulary import FeedSource
from integrations.feeds._common import (
    Json,
    canonical,
    day_estimate,
    decode_object,
    hmac_sha256,
    items,
    key_part,
    link,
    obj,
    opaque_id,
    opt_instant,
    opt_obj,
    required_id,
    same,
    stamp,
    text,
)

TRACKER_EVENTS = ("tracker.created", "tracker.updated")

# Tracker status → canonical status. available_for_pickup is the last step before the customer has it,
# not a fault; `unknown` says nothing yet, so it makes no event.
STATUS = {
    "pre_transit": "label_created",
    "in_transit": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "available_for_pickup": "out_for_delivery",
    "delivered": "delivered",
    "return_to_sender": "returned",
    "failure": "exception",
    "cancelled": "exception",
    "error": "exception",
}
# status_detail → canonical exception reason, when the tracker is in trouble.
REASONS = {
    "address_not_found": "address",
    "address_correction": "address",
    "incorrect_address": "address",
    "weather_delay": "weather",
    "customs_hold": "customs",
    "customs": "customs",
    "damaged": "damaged",
}
PREFIX = "hmac-sha256-hex="


class EasyPostFeed:
    source = FeedSource.EASYPOST

    def __init__(self, secret: str) -> None:
        # EasyPost signs with the NFKD form of the secret (its client libraries do the same).
        self._key = unicodedata.normalize("NFKD", secret).encode()

    def verify(self, request: WebhookRequest) -> None:
        given = request.headers.get("x-hmac-signature", "").strip()
        if not given:
            raise SignatureError("missing X-Hmac-Signature header")
        if not given.lower().startswith(PREFIX):
            raise SignatureError(f"X-Hmac-Signature must start with {PREFIX}")
        expected = hmac_sha256(self._key, request.body).hex()
        if not same(expected, given[len(PREFIX) :].lower()):
            raise SignatureError("X-Hmac-Signature does not match the body")

    def parse(self, request: WebhookRequest) -> list[CanonicalEvent]:
        event = decode_object(request.body)
        description = text(event, "description")
        if description is None:
            raise InvalidEvent("event.description: missing (expected e.g. 'tracker.updated')")
        if description not in TRACKER_EVENTS:
            return []  # every account event reaches this URL (batches, invoices, …): accept and ignore
        event_id = required_id(event, "id", "event")
        tracker = obj(event, "result", "event")
        if tracker.get("object", "Tracker") != "Tracker":
            raise InvalidEvent(f"event.result.object: expected 'Tracker', got {tracker.get('object')!r}")
        status = text(tracker, "status")
        if status is None:
            raise InvalidEvent("event.result.status: missing")
        if status not in STATUS:
            return []  # `unknown` (or a status EasyPost adds later): nothing to tell yet
        shipment = _shipment(tracker, status)
        occurred, detail = _latest(tracker)
        if detail:
            shipment.update(detail)
        at = occurred or opt_instant(tracker.get("updated_at")) or opt_instant(event.get("created_at"))
        raw = {
            "id": f"easypost:{key_part(event_id)}",
            "type": "shipment.updated",
            "occurred_at": stamp(at or request.received_at),
            "shipment": shipment,
        }
        return canonical("easypost", [raw])


def _shipment(tracker: Json, status: str) -> Json:
    code = required_id(tracker, "tracking_code", "event.result")
    shipment: Json = {"order_id": _order_id(tracker, code), "status": STATUS[status], "tracking_number": code}
    carrier = text(tracker, "carrier")
    if carrier:
        shipment["carrier"] = carrier
    detail = (text(tracker, "status_detail") or "").lower()
    if detail == "lost":
        shipment["status"] = "lost"
    elif shipment["status"] == "exception":
        shipment["exception"] = REASONS.get(detail, "other")
    eta = _estimate(tracker)
    if eta is not None:
        shipment["estimated_delivery_at"] = stamp(eta)
    page = link(tracker, "public_url")
    if page:
        shipment["tracking_url"] = page
    return shipment


def _order_id(tracker: Json, code: str) -> str:
    """The order a tracker belongs to: its reference, else metadata, else `tracking:<code>`."""
    # A bare tracker knows no order; the marked tracking code lets the engine record the scan against an
    # unknown order instead of losing it, and can never collide with a real order id.
    found = opaque_id(tracker.get("reference"))
    metadata = opt_obj(tracker, "metadata")
    found = found or opaque_id(metadata.get("order_id")) or opaque_id(metadata.get("reference"))
    return found or f"tracking:{code}"


def _estimate(tracker: Json) -> datetime | None:
    moment = opt_instant(tracker.get("est_delivery_date"))
    # EasyPost writes a date-only estimate as midnight UTC; read it as that calendar day.
    if moment is not None and (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return day_estimate(moment.astimezone(UTC).date())
    return moment


def _latest(tracker: Json) -> tuple[datetime | None, Json]:
    """The newest tracking detail by its time: EasyPost does not promise they arrive in order."""
    dated = [(moment, d) for d in items(tracker, "tracking_details") if (moment := opt_instant(d.get("datetime")))]
    if not dated:
        return None, {}
    moment, newest = max(dated, key=lambda pair: pair[0])
    detail: Json = {}
    message = text(newest, "message", "description")
    if message:
        detail["message"] = message
    location = _place(opt_obj(newest, "tracking_location"))
    if location:
        detail["location"] = location
    return moment, detail


def _place(location: dict[str, Any]) -> str | None:
    parts = [text(location, key) for key in ("city", "state", "country")]
    return ", ".join(part for part in parts if part) or None
