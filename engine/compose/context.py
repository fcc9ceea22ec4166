"""Build the template context (the contract in docs/templates.md) from the engine's rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from engine.compose.facts import derive
from engine.compose.incidents import customer_name, display_name, is_news
from engine.config import Settings
from engine.links.build import message_links
from engine.models import Incident, Order, Shipment
from engine.models.customers import Recipient

DIGEST_ITEM_LINKS = ("tracking", "order", "status_page")
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


_AND = {"en": "and", "pt": "e", "es": "y", "de": "und", "ja": "と"}
_OTHERS = {
    "en": ("other item", "other items"),
    "pt": ("outro item", "outros itens"),
    "es": ("artículo más", "artículos más"),
    "de": ("weiterer Artikel", "weitere Artikel"),
    "ja": ("ほか{n}点", "ほか{n}点"),
}
_ORDER_LABEL = {
    "en": "order {id}",
    "pt": "pedido {id}",
    "es": "pedido {id}",
    "de": "Bestellung {id}",
    "ja": "ご注文{id}",
}
_ORDER_WORD = {"en": "order", "pt": "pedido", "es": "pedido", "de": "Bestellung", "ja": "ご注文の品"}
# Languages whose product names read lower-case mid-sentence ("your desk lamp"); German nouns keep
# their capital, Japanese has none.
_SOFTENED = ("en", "pt", "es")


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
    check_in: bool = False,
    history: dict[str, Any] | None = None,
    remedy: dict[str, Any] | None = None,
    care_task: dict[str, Any] | None = None,
) -> dict[str, Any]:
    base = settings.public_url.rstrip("/")
    context = {
        "customer": {
            "id": customer.id,
            "name": customer.name,
            "first_name": customer.first_name,
            "locale": customer.locale,
            "timezone": customer.timezone,
        },
        "order": _order(order, locale) if order else None,
        "shipment": _shipment(shipment) if shipment else None,
        "incident": _incident(incident, settings, locale, told=getattr(situation, "told", None)) if incident else None,
        "situation": {"kind": situation.kind, "stage": stage, "opened_at": situation.opened_at},
        "brand": {"name": settings.brand_name, "support_email": settings.support_email, "url": base},
        # a feed's own order and tracking pages where it gave them, else our signed status page (engine/links)
        "links": {
            **message_links(
                base=base,
                secret_key=settings.secret_key,
                customer_id=customer.id,
                order_id=order.id if order else None,
                order_url=order.order_url if order else None,
                tracking_url=order.tracking_url if order else None,
                incident_id=incident.id if incident else None,
            ),
            "unsubscribe": unsubscribe_url,
            "help": f"mailto:{settings.support_email}",
        },
        "next_update_at": next_update_at,
        "now": now,
        "first_sms": first_sms,
        "repeat": repeat,
        "check_in": check_in,
        "history": history or {"problems_30d": 0, "problems_90d": 0, "recent": []},
        "remedy": remedy,
        "care_task": care_task,
    }
    return derive(context)


def _order(order: Order, locale: str) -> dict[str, Any]:
    names = [str(line.get("name", "")).strip() for line in order.lines if str(line.get("name", "")).strip()]
    items = describe_items(names, locale)
    return {
        "id": order.id,
        "lines": [{"name": line.get("name", ""), "quantity": line.get("quantity", 1)} for line in order.lines],
        "items": items,
        "items_title": items[:1].upper() + items[1:],
        "items_short": order_label(order.id, locale),
        "placed_at": order.placed_at,
        "promised_by": order.promised_by,
        "delivered_at": order.delivered_at,
        "canceled_at": order.canceled_at,
        "total": {"amount": order.total_amount, "currency": order.total_currency} if order.total_amount else None,
    }


def order_label(order_id: str, locale: str) -> str:
    """ "order A10042": what an SMS names when the item list does not fit."""
    return _ORDER_LABEL.get(locale.split("-")[0], _ORDER_LABEL["en"]).format(id=order_id)


def describe_items(names: list[str], locale: str) -> str:
    """ "desk lamp", "desk lamp and shoes", "desk lamp and 2 other items" — for mid-sentence use."""
    language = locale.split("-")[0]
    if not names:
        return _ORDER_WORD.get(language, "order")
    # Two lines of one product (two sizes, two colours) are one thing to the customer: "your headphones",
    # never "your headphones and headphones".
    soften = _soften if language in _SOFTENED or language not in _AND else _keep
    lowered = list(dict.fromkeys(soften(n) for n in names))
    if len(lowered) == 1:
        return lowered[0]
    rest = len(lowered) - 1
    if language == "ja":  # 「デスクランプ」と「毛布」, 「デスクランプ」ほか2点
        if rest == 1:
            return f"{lowered[0]}と{lowered[1]}"
        return lowered[0] + _OTHERS["ja"][1].format(n=rest)
    conj = _AND.get(language, "and")
    if len(lowered) == 2:
        return f"{lowered[0]} {conj} {lowered[1]}"
    one, many = _OTHERS.get(language, _OTHERS["en"])
    if language == "es":
        return f"{lowered[0]} y {rest} {one if rest == 1 else many}"  # "lámpara y 2 artículos más"
    return f"{lowered[0]} {conj} {rest} {one if rest == 1 else many}"


def _keep(name: str) -> str:
    return name


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


def _incident(incident: Incident, settings: Settings, locale: str, *, told: object) -> dict[str, Any]:
    news = incident.message if is_news(incident.message) else None  # not a note that only restates the status
    # A note is quoted only to readers of its own language: a Portuguese message never carries English.
    note_language = settings.status_note_locale.split("-")[0].lower()
    previous = told.get("status") if isinstance(told, Mapping) else None
    return {
        "id": incident.id,
        "title": incident.title,
        "components": list(incident.components),
        "services": [display_name(name) for name in incident.components],
        # as a customer reading this message knows them (FOREWARN_COMPONENT_NAMES, else common names)
        "names": [customer_name(name, locale, settings.component_names) for name in incident.components],
        "status": incident.status,
        "previous_status": previous,
        "message": incident.message,
        "news": news,
        "news_local": news if locale.split("-")[0].lower() == note_language else None,
        "started_at": incident.started_at,
        "resolved_at": incident.resolved_at,
    }


def digest_item(single: dict[str, Any], *, kind: str, stage: str) -> dict[str, Any]:
    """One thread of a digest (`digest.items`), from the context a message about it alone would get."""
    return {
        "kind": kind,
        "stage": stage,
        "order": single["order"],
        "shipment": single["shipment"],
        "incident": single["incident"],
        "delivery": single["delivery"],
        "problem": single["problem"],
        "outcome": single["outcome"],
        "links": {name: single["links"][name] for name in DIGEST_ITEM_LINKS},
        "opened_at": single["situation"]["opened_at"],
    }
