"""Realistic sample contexts to preview and test templates with, in each shipped language.

Each mirrors the contract in docs/templates.md and is finished by `derive`, exactly as the engine's
own contexts are: order situations get an order and (except an order not yet shipped) a shipment;
`service.disruption` gets an incident instead; the digest gets one item per thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.compose.context import describe_items, digest_item, order_label
from engine.compose.facts import derive
from engine.links.build import message_links
from engine.preferences.unsubscribe import sign_token
from engine.vocabulary import SituationKind, Stage

SAMPLE_NOW = datetime(2026, 3, 12, 15, 0, tzinfo=UTC)  # a Thursday afternoon in the Americas and Europe
BASE = "https://acme.example"
# Signs the samples' links as a deployment with this key would (engine/links); goldens stay stable, and a
# test serving the app under it can click every one.
SAMPLE_SECRET_KEY = "sample-only-key-for-previews-and-golden-files"  # noqa: S105 - public, refused in production


def _links(customer_id: str | None, order_id: str | None = None, incident_id: str | None = None) -> dict[str, Any]:
    return message_links(
        base=BASE, secret_key=SAMPLE_SECRET_KEY, customer_id=customer_id, order_id=order_id, incident_id=incident_id
    )


@dataclass(frozen=True)
class _Sample:
    name: str
    timezone: str
    item: str  # as a customer would name it mid-sentence
    others: tuple[str, ...]  # more items, for digests and several-item orders
    carrier: tuple[str, str]  # code, name
    tracking: str
    location: str
    currency: str
    incident_title: str
    component_names: tuple[str, str]


_SAMPLES = {
    "en": _Sample(
        "Ana Miller",
        "America/New_York",
        "desk lamp",
        ("trail running shoes", "coffee grinder", "backpack"),
        ("ups", "UPS"),
        "1Z999AA10123456784",
        "Columbus, OH",
        "USD",
        "Checkout errors",
        ("checkout", "payments"),
    ),
    "pt": _Sample(
        "Ana Souza",
        "America/Sao_Paulo",
        "luminária de mesa",
        ("tênis de corrida", "moedor de café", "mochila"),
        ("correios", "Correios"),
        "QB123456789BR",
        "Campinas, SP",
        "BRL",
        "Erros no checkout",
        ("finalização de compra", "pagamentos"),
    ),
    "es": _Sample(
        "Lucía García",
        "Europe/Madrid",
        "lámpara de escritorio",
        ("zapatillas de trail", "molinillo de café", "mochila"),
        ("correos", "Correos"),
        "PQ4F6P0001234567",
        "Zaragoza",
        "EUR",
        "Errores en el pago",
        ("pago de pedidos", "pagos"),
    ),
    "de": _Sample(
        "Jonas Becker",
        "Europe/Berlin",
        "Schreibtischlampe",
        ("Laufschuhe", "Kaffeemühle", "Rucksack"),
        ("dhl", "DHL"),
        "00340434161234567890",
        "Leipzig",
        "EUR",
        "Fehler an der Kasse",
        ("Kasse", "Zahlung"),
    ),
    "ja": _Sample(
        "佐藤 陽菜",
        "Asia/Tokyo",
        "デスクランプ",
        ("ランニングシューズ", "コーヒーミル", "リュック"),
        ("yamato", "ヤマト運輸"),
        "4912-3456-7890",
        "羽田クロノゲート",
        "JPY",
        "決済エラー",
        ("購入手続き", "決済"),
    ),
}


def _sample(locale: str) -> _Sample:
    return _SAMPLES.get(locale.split("-")[0], _SAMPLES["en"])


def sample_context(
    situation: str,
    stage: str,
    *,
    locale: str = "en",
    now: datetime | None = None,
    exception: str | None = "weather",
) -> dict[str, Any]:
    """A realistic context for previewing and testing templates; a fresh dict each call, safe to edit
    (call `engine.compose.facts.derive` on it after changing a raw field)."""
    now = now or SAMPLE_NOW
    sample = _sample(locale)
    resolved = stage == Stage.RESOLVED
    context: dict[str, Any] = {
        "customer": {
            "id": "C1",
            "name": sample.name,
            "first_name": sample.name.split()[0],
            "locale": locale,
            "timezone": sample.timezone,
        },
        "order": None,
        "shipment": None,
        "incident": None,
        "situation": {"kind": situation, "stage": stage, "opened_at": now - timedelta(hours=3)},
        "brand": {"name": "Acme", "support_email": "help@acme.example", "url": BASE},
        "links": {
            **_links("C1"),
            "unsubscribe": f"{BASE}/unsubscribe/{sign_token(SAMPLE_SECRET_KEY, 'C1')}",
            "help": "mailto:help@acme.example",
        },
        "next_update_at": None if resolved else now + timedelta(hours=27),
        "now": now,
        "first_sms": True,
        "repeat": False,
        "check_in": False,
        "history": {"problems_30d": 0, "problems_90d": 0, "recent": []},
        "remedy": None,
        "care_task": None,
    }
    if situation.startswith("service."):
        context["incident"] = _sample_incident(now, sample, resolved=resolved)
        context["links"].update(_links("C1", incident_id=context["incident"]["id"]))
        context["next_update_at"] = None if resolved else now + timedelta(hours=1)
        return derive(context)
    context["order"] = sample_order(now, sample.item, locale=locale, currency=sample.currency)
    context["links"].update(_links("C1", order_id=context["order"]["id"]))
    if situation != SituationKind.ORDER_LATE_TO_SHIP or resolved:
        context["shipment"] = _sample_shipment(situation, stage, now, sample, exception=exception)
    if resolved:
        context["order"]["delivered_at"] = context["shipment"]["delivered_at"]
    return derive(context)


def _sample_incident(now: datetime, sample: _Sample, *, resolved: bool) -> dict[str, Any]:
    return {
        "id": "INC-7",
        "title": sample.incident_title,
        "components": ["checkout", "payments-api"],
        "services": ["checkout", "payments API"],
        "names": list(sample.component_names),
        "status": "operational" if resolved else "partial_outage",
        "previous_status": "partial_outage" if resolved else None,
        "message": None,
        "news": None,
        "news_local": None,
        "started_at": now - timedelta(minutes=40),
        "resolved_at": now - timedelta(minutes=5) if resolved else None,
    }


def sample_order(
    now: datetime, *names: str, locale: str = "en", currency: str = "USD", order_id: str = "A10042"
) -> dict[str, Any]:
    """An order of these items (named as the engine names them), promised for tomorrow evening."""
    joined = describe_items(list(names), locale)
    return {
        "id": order_id,
        "lines": [{"name": name[:1].upper() + name[1:], "quantity": 1} for name in names],
        "items": joined,
        "items_title": joined[:1].upper() + joined[1:],
        "items_short": order_label(order_id, locale),
        "placed_at": now - timedelta(days=4),
        "promised_by": now + timedelta(days=1, hours=6),
        "delivered_at": None,
        "canceled_at": None,
        "total": {"amount": "109.29", "currency": currency},
    }


def _sample_shipment(
    situation: str, stage: str, now: datetime, sample: _Sample, *, exception: str | None
) -> dict[str, Any]:
    resolved = stage == Stage.RESOLVED
    status = "exception" if situation == SituationKind.SHIPMENT_EXCEPTION else "in_transit"
    # The carrier's latest scan: the delivery itself once resolved; a stalled parcel last moved two days ago.
    if resolved:
        last_scan = now - timedelta(hours=2)
    elif situation == SituationKind.SHIPMENT_STALLED:
        last_scan = now - timedelta(days=2, hours=4)
    else:
        last_scan = now - timedelta(hours=1)
    if situation == SituationKind.SHIPMENT_EXCEPTION and exception in ("lost", "returned") and not resolved:
        status = exception
    code, name = sample.carrier
    return {
        "carrier": code,
        "carrier_name": name,
        "tracking_number": sample.tracking,
        "status": "delivered" if resolved else status,
        "exception": exception if situation == SituationKind.SHIPMENT_EXCEPTION else None,
        "location": sample.location,
        "estimated_delivery_at": now + timedelta(days=5),
        "previous_estimated_delivery_at": now + timedelta(days=3) if stage == Stage.UPDATE else None,
        "delivered_at": now - timedelta(hours=2) if resolved else None,
        "last_scan_at": last_scan,
        "handed_over_at": now - timedelta(days=3),
    }


def sample_digest_context(
    kinds: tuple[str, ...] = (SituationKind.SHIPMENT_DELAYED, SituationKind.ORDER_LATE_TO_SHIP),
    *,
    locale: str = "en",
    now: datetime | None = None,
    exception: str | None = "weather",
) -> dict[str, Any]:
    """A realistic context for the `digest/merged` templates: one item per kind, each from that kind's
    own sample (a second order gets its own id and items), on top of the usual customer, brand and links."""
    context = sample_context(SituationKind.DIGEST, Stage.MERGED, locale=locale, now=now)
    context.update(order=None, shipment=None, incident=None, next_update_at=None, delivery=None, problem=None)
    context["links"].update(tracking=None, order=None, status_page=None, address=None)
    others = _sample(locale).others
    items: list[dict[str, Any]] = []
    for index, kind in enumerate(kinds):
        single = sample_context(kind, "initial", locale=locale, now=now, exception=exception)
        if single["order"] is not None and index > 0:
            name = others[(index - 1) % len(others)]
            order_id = f"A2004{index}"
            single["order"] = sample_order(now or SAMPLE_NOW, name, locale=locale, order_id=order_id)
            single["links"].update(_links("C1", order_id=order_id))
            derive(single)
        items.append(digest_item(single, kind=kind, stage="initial"))
    context["digest"] = {"count": len(items), "items": items}
    return context
