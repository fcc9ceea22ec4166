"""Build the template context (the contract in docs/templates.md) from the engine's rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

from engine.compose.incidents import display_name, is_news
from engine.config import Settings
from engine.models import Incident, Order, Shipment
from engine.models.customers import Recipient

CARRIER_NAMES = {
    "ups": "UPS",
    "fedex": "FedEx",
    "usps": "USPS",
    "dhl": "DHL",
    "correios": "Correios",
    "royalmail": "Royal Mail",
    "royal_mail": "Royal Mail",
    "canadapost": "Canada Post",
    "australiapost": "Australia Post",
    "dpd": "DPD",
    "gls": "GLS",
    "ontrac": "OnTrac",
    "lasership": "LaserShip",
}


class SituationFacts(Protocol):
    """What the context reads of a situation (a `Situation` row, or a fan-out's lighter stand-in)."""

    @property
    def kind(self) -> str: ...

    @property
    def opened_at(self) -> datetime: ...


_AND = {"en": "and", "pt": "e"}
_OTHERS = {"en": ("other item", "other items"), "pt": ("outro item", "outros itens")}


def build_context(
    *,
    settings: Settings,
    customer: Recipient,
    situation: SituationFacts,
    stage: str,
    locale: str,
    now: datetime,
    order: Order | None = None,
    shipment: Shipment | None = None,
    incident: Incident | None = None,
    next_update_at: datetime | None = None,
    first_sms: bool = False,
    repeat: bool = False,
    unsubscribe_url: str | None = None,
) -> dict[str, Any]:
    base = settings.public_url.rstrip("/")
    return {
        "customer": {
            "id": customer.id,
            "name": customer.name,
            "first_name": customer.first_name,
            "locale": customer.locale,
            "timezone": customer.timezone,
        },
        "order": _order(order, locale) if order else None,
        "shipment": _shipment(shipment) if shipment else None,
        "incident": _incident(incident) if incident else None,
        "situation": {"kind": situation.kind, "stage": stage, "opened_at": situation.opened_at},
        "brand": {"name": settings.brand_name, "support_email": settings.support_email, "url": base},
        "links": {
            "tracking": f"{base}/t/{quote(order.id)}" if order else None,
            "order": f"{base}/orders/{quote(order.id)}" if order else None,
            "orders": f"{base}/orders",  # all of the customer's orders: the one link of a digest
            "status_page": f"{base}/status" if incident else None,
            "unsubscribe": unsubscribe_url,
            "help": f"mailto:{settings.support_email}",
        },
        "next_update_at": next_update_at,
        "now": now,
        "first_sms": first_sms,
        "repeat": repeat,
    }


def _order(order: Order, locale: str) -> dict[str, Any]:
    names = [str(line.get("name", "")).strip() for line in order.lines if str(line.get("name", "")).strip()]
    items = describe_items(names, locale)
    return {
        "id": order.id,
        "lines": [{"name": line.get("name", ""), "quantity": line.get("quantity", 1)} for line in order.lines],
        "items": items,
        "items_title": items[:1].upper() + items[1:],
        "placed_at": order.placed_at,
        "promised_by": order.promised_by,
        "total": {"amount": order.total_amount, "currency": order.total_currency} if order.total_amount else None,
    }


def describe_items(names: list[str], locale: str) -> str:
    """ "desk lamp", "desk lamp and shoes", "desk lamp and 2 other items" — for mid-sentence use."""
    language = locale.split("-")[0]
    if not names:
        return "pedido" if language == "pt" else "order"
    # Two lines of one product (two sizes, two colours) are one thing to the customer: "your headphones",
    # never "your headphones and headphones".
    lowered = list(dict.fromkeys(_soften(n) for n in names))
    if len(lowered) == 1:
        return lowered[0]
    conj = _AND.get(language, "and")
    if len(lowered) == 2:
        return f"{lowered[0]} {conj} {lowered[1]}"
    one, many = _OTHERS.get(language, _OTHERS["en"])
    rest = len(lowered) - 1
    return f"{lowered[0]} {conj} {rest} {one if rest == 1 else many}"


def _soften(name: str) -> str:
    # "Desk lamp" reads naturally mid-sentence as "desk lamp"; keep brand-like capitals ("iPhone", "UPS").
    if len(name) > 1 and name[0].isupper() and not name[1].isupper():
        return name[0].lower() + name[1:]
    return name


def _shipment(shipment: Shipment) -> dict[str, Any]:
    return {
        "carrier": shipment.carrier,
        "carrier_name": carrier_name(shipment.carrier),
        "tracking_number": shipment.tracking_number,
        "status": shipment.status,
        "exception": shipment.exception,
        "location": shipment.location,
        "estimated_delivery_at": shipment.estimated_delivery_at,
        "previous_estimated_delivery_at": shipment.previous_estimated_delivery_at,
        "delivered_at": shipment.delivered_at,
        "last_scan_at": shipment.last_scan_at,
        "handed_over_at": shipment.handed_over_at,
    }


def carrier_name(code: str) -> str:
    if not code:
        return "the carrier"
    return CARRIER_NAMES.get(code.lower().replace(" ", ""), code if not code.islower() else code.title())


def _incident(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "title": incident.title,
        "components": list(incident.components),
        "services": [display_name(name) for name in incident.components],  # as a customer would name them
        "status": incident.status,
        "message": incident.message,
        "news": incident.message if is_news(incident.message) else None,  # not a note that only restates the status
        "started_at": incident.started_at,
        "resolved_at": incident.resolved_at,
    }
