"""PagerDuty v3 webhooks (`X-PagerDuty-Signature: v1=…`) as `service.status` for the incident's service."""

from __future__ import annotations

from collections.abc import Mapping

from engine.errors import InvalidEvent, SignatureError
from engine.events.schema import CanonicalEvent
from engine.inbound.feed import WebhookRequest
from engine.vocabulary import FeedSource
from integrations.feeds._common import (
    Json,
    canonical,
    decode_object,
    hmac_sha256,
    instant,
    key_part,
    obj,
    opaque_id,
    required_id,
    same,
    slug,
    stamp,
    text,
)

# Incident event types that change what customers experience. Acknowledged only means someone is on
# it (the service is as broken as before), and priority, notes and reassignment change nothing for them.
OPENING = ("incident.triggered", "incident.reopened")
CLOSING = ("incident.resolved",)


class PagerDutyFeed:
    source = FeedSource.PAGERDUTY

    def __init__(self, secret: str, *, component_map: Mapping[str, str] | None = None) -> None:
        self._secret = secret.encode()
        self._map = dict(component_map or {})

    def verify(self, request: WebhookRequest) -> None:
        header = request.headers.get("x-pagerduty-signature", "").strip()
        if not header:
            raise SignatureError("missing X-PagerDuty-Signature header")
        expected = "v1=" + hmac_sha256(self._secret, request.body).hex()
        # During a secret rotation PagerDuty sends one signature per secret; any match is enough.
        candidates = [part.strip().lower() for part in header.split(",")]
        if not any(same(expected, candidate) for candidate in candidates):
            raise SignatureError("X-PagerDuty-Signature does not match the body")

    def parse(self, request: WebhookRequest) -> list[CanonicalEvent]:
        body = decode_object(request.body)
        if "event" not in body and isinstance(body.get("messages"), list) and body["messages"]:
            # v1/v2 webhooks (retired by PagerDuty in 2022) carry `messages`: say so rather than "no event".
            raise InvalidEvent("body.messages: a PagerDuty v1/v2 webhook; subscribe a v3 webhook instead")
        event = obj(body, "event", "body")
        event_type = text(event, "event_type")
        if event_type is None:
            raise InvalidEvent("event.event_type: missing")
        if event_type not in OPENING + CLOSING:
            return []  # pagey.ping, acknowledgements, notes, service events: nothing for customers
        event_id = required_id(event, "id", "event")
        data = obj(event, "data", "event")
        incident_id = required_id(data, "id", "event.data")
        service = obj(data, "service", "event.data")
        component = self._component(service)
        if event_type in CLOSING:
            status = "operational"
        else:
            # High urgency is how PagerDuty marks "wake someone up": a real outage.
            status = "major_outage" if text(data, "urgency") == "high" else "partial_outage"
        raw = {
            "id": f"pagerduty:{key_part(event_id)}",
            "type": "service.status",
            "occurred_at": stamp(instant(event.get("occurred_at"), "event.occurred_at")),
            "service": {
                "component": component,
                "status": status,
                "incident_id": f"pd:{key_part(incident_id)}",
                "title": text(data, "title", "summary") or "",
            },
        }
        return canonical("pagerduty", [raw])

    def _component(self, service: Json) -> str:
        service_id, summary = opaque_id(service.get("id")), text(service, "summary", "name")
        for key in (service_id, summary):
            if key and key in self._map:
                return self._map[key]
        if summary and slug(summary):
            return slug(summary)
        if service_id:
            return service_id
        raise InvalidEvent("event.data.service: needs a summary or an id")
