"""An inbound event as review pages show it: what it said about the order, parcel or service, without the
customer's contact details (a `customer.upserted` payload is mostly those)."""

from __future__ import annotations

from typing import Any

from engine.clock import format_instant
from engine.inbound.service import feed_id
from engine.models import InboundEvent

# What each kind of event is shown with: the facts a rule reads, never addresses.
_FACTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "order.created": ("order", ("id", "placed_at", "promised_by", "ship_by")),
    "order.updated": ("order", ("id", "promised_by", "ship_by")),
    "order.canceled": ("order", ("id",)),
    "shipment.updated": (
        "shipment",
        ("order_id", "carrier", "status", "estimated_delivery_at", "exception", "location", "message"),
    ),
    "service.status": ("service", ("component", "status", "incident_id", "title", "message")),
    "customer.upserted": ("customer", ("id", "locale", "timezone", "channels", "components")),
}


def describe_event(event: InboundEvent) -> dict[str, Any]:
    body_key, fields = _FACTS.get(event.type, ("", ()))
    body = event.payload.get(body_key) if body_key else None
    facts = {k: body[k] for k in fields if isinstance(body, dict) and body.get(k) is not None}
    return {
        "id": event.id,
        "source": event.source,
        "external_id": feed_id(event.external_id),
        "type": event.type,
        "occurred_at": format_instant(event.occurred_at),
        "received_at": format_instant(event.received_at),
        "outcome": event.outcome,
        "facts": facts,
    }


def event_summary(event: InboundEvent) -> str:
    """One line: "shipment.updated: exception (address)", "order.created: promised by …"."""
    facts = describe_event(event)["facts"]
    if event.type == "service.status":
        said = f"{facts.get('component')} {facts.get('status')}"
    elif facts.get("status"):
        said = str(facts["status"]) + (f" ({facts['exception']})" if facts.get("exception") else "")
    elif facts.get("promised_by"):
        said = f"promised by {facts['promised_by']}"
    else:
        return event.type
    return f"{event.type}: {said}"
