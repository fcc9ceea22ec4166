"""A short scripted story for `make run`: three customers, three orders, trouble with two parcels."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, func, select

from engine.clock import format_instant
from engine.compose.store import seed_templates
from engine.delivery.service import deliver_due
from engine.events.schema import parse_event
from engine.inbound.service import store_events
from engine.models import Notice
from engine.processing import apply_event
from engine.runtime import Runtime
from engine.vocabulary import FeedSource


def demo_events(now: datetime) -> list[dict[str, Any]]:
    def at(hours: float) -> str:
        return format_instant(now + timedelta(hours=hours))

    customers = [
        {
            "id": "demo-ana",
            "name": "Ana Souza",
            "email": "ana.souza@example.com",
            "phone": "+5511987654321",
            "locale": "pt-BR",
            "timezone": "America/Sao_Paulo",
            "channels": ["email", "sms"],
            "components": ["checkout"],
        },
        {
            "id": "demo-sam",
            "name": "Sam Carter",
            "email": "sam.carter@example.com",
            "phone": "+12025550143",
            "locale": "en",
            "timezone": "America/New_York",
            "channels": ["email", "sms"],
            "components": [],
        },
        {
            "id": "demo-mei",
            "name": "Mei Tanaka",
            "email": "mei.tanaka@example.com",
            "phone": "+447700900123",
            "locale": "en",
            "timezone": "Europe/London",
            "channels": ["email"],
            "components": ["payments-api"],
        },
    ]
    events: list[dict[str, Any]] = [
        {"id": f"demo-{c['id']}", "type": "customer.upserted", "occurred_at": at(-96), "customer": c} for c in customers
    ]
    orders = [
        ("demo-A1001", "demo-ana", [{"name": "Luminária de mesa", "quantity": 1}], "correios", "BR"),
        (
            "demo-A1002",
            "demo-sam",
            [{"name": "Espresso grinder", "quantity": 1}, {"name": "Coffee beans", "quantity": 2}],
            "ups",
            "US",
        ),
        ("demo-A1003", "demo-mei", [{"name": "Wool blanket", "quantity": 1}], "dhl", "GB"),
    ]
    hubs = {"BR": "Campinas, SP", "US": "Louisville, KY", "GB": "Birmingham"}
    for order_id, customer_id, lines, carrier, country in orders:
        events.append(
            {
                "id": f"{order_id}-created",
                "type": "order.created",
                "occurred_at": at(-72),
                "order": {
                    "id": order_id,
                    "customer": {"id": customer_id},
                    "placed_at": at(-72),
                    "promised_by": at(60),
                    "ship_by": at(-40),
                    "lines": lines,
                    "total": {"amount": "89.90", "currency": "BRL" if country == "BR" else "USD"},
                },
            }
        )
        ship = {
            "order_id": order_id,
            "carrier": carrier,
            "tracking_number": f"{carrier.upper()}-{order_id[-4:]}{country}",
        }
        events.append(
            {
                "id": f"{order_id}-label",
                "type": "shipment.updated",
                "occurred_at": at(-50),
                "shipment": {**ship, "status": "label_created"},
            }
        )
        events.append(
            {
                "id": f"{order_id}-transit",
                "type": "shipment.updated",
                "occurred_at": at(-44),
                "shipment": {
                    **ship,
                    "status": "in_transit",
                    "estimated_delivery_at": at(30),
                    "location": hubs[country],
                },
            }
        )
    events += [
        # Ana: the carrier could not match the address. Sam: weather hold. Mei: a hold that has cleared.
        {
            "id": "demo-A1001-exception",
            "type": "shipment.updated",
            "occurred_at": at(-0.5),
            "shipment": {
                "order_id": "demo-A1001",
                "carrier": "correios",
                "tracking_number": "CORREIOS-1001BR",
                "status": "exception",
                "exception": "address",
                "message": "Endereço não localizado",
            },
        },
        {
            "id": "demo-A1002-exception",
            "type": "shipment.updated",
            "occurred_at": at(-0.3),
            "shipment": {
                "order_id": "demo-A1002",
                "carrier": "ups",
                "tracking_number": "UPS-1002US",
                "status": "exception",
                "exception": "weather",
                "estimated_delivery_at": at(54),
                "location": "Louisville, KY",
            },
        },
        {
            "id": "demo-A1003-exception",
            "type": "shipment.updated",
            "occurred_at": at(-0.2),
            "shipment": {
                "order_id": "demo-A1003",
                "carrier": "dhl",
                "tracking_number": "DHL-1003GB",
                "status": "exception",
                "exception": "damaged",
            },
        },
    ]
    return events


def load_demo(rt: Runtime) -> str:
    """Store the story through the normal inbound path, apply it, deliver what is due; idempotent."""
    now = rt.clock.now()
    with rt.unit_of_work() as session:
        seed_templates(session, now=now)
        known = session.exec(select(func.count(col(Notice.id)))).one()
    events = [parse_event(raw) for raw in demo_events(now)]
    with rt.unit_of_work() as session:
        stored = store_events(session, source=FeedSource.DEMO, events=events, received_at=now, queue=False)
    for event_id in stored.accepted:
        apply_event(rt, event_id)
    deliver_due(rt)
    if stored.accepted:
        # Mei's damaged parcel arrives: the note says so, and that our team will still be in touch about it
        # (true: a damaged parcel's care task stays open until a person closes it).
        late = parse_event(
            {
                "id": "demo-A1003-delivered",
                "type": "shipment.updated",
                "occurred_at": format_instant(rt.clock.now()),
                "shipment": {
                    "order_id": "demo-A1003",
                    "carrier": "dhl",
                    "tracking_number": "DHL-1003GB",
                    "status": "delivered",
                },
            }
        )
        with rt.unit_of_work() as session:
            more = store_events(session, source=FeedSource.DEMO, events=[late], received_at=rt.clock.now(), queue=False)
        for event_id in more.accepted:
            apply_event(rt, event_id)
        deliver_due(rt)
    with rt.unit_of_work() as session:
        counts = session.exec(select(Notice.status, func.count(col(Notice.id))).group_by(Notice.status)).all()
    summary = ", ".join(f"{n} {s}" for s, n in counts) or "none"
    if not stored.accepted:
        return f"demo already loaded ({known} notices: {summary})"
    return f"demo loaded: {len(stored.accepted) + 1} events; notices {summary} (deferred SMS wait for morning)"
