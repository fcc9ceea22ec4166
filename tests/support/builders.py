"""Small builders for canonical events and signed webhook requests."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from itertools import count
from typing import Any

from engine.clock import format_instant
from integrations.feeds.standard_webhooks import sign

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
DEV_SECRET = "whsec_ZGV2LW9ubHktZXZlbnRzLXNlY3JldC0xMjM0NQ=="  # the Makefile's, for `make run`
_ids = count(1)


def next_id(prefix: str = "evt") -> str:
    return f"{prefix}-{next(_ids):06d}"


def customer(cid: str = "C1", **fields: Any) -> dict[str, Any]:
    base = {
        "id": cid,
        "name": "Ana Souza",
        "email": "ana@example.com",
        "phone": "+5511987654321",
        "locale": "en",
        "timezone": "America/New_York",
        "channels": ["email", "sms"],
        "components": [],
    }
    return {**base, **fields}


def customer_upserted(at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "id": next_id(),
        "type": "customer.upserted",
        "occurred_at": format_instant(at),
        "customer": customer(**fields),
    }


def order_created(
    at: datetime,
    *,
    order_id: str = "A1001",
    customer_id: str = "C1",
    promised_in: timedelta = timedelta(days=5),
    lines: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "id": next_id(),
        "type": "order.created",
        "occurred_at": format_instant(at),
        "order": {
            "id": order_id,
            "customer": {"id": customer_id},
            "placed_at": format_instant(at),
            "promised_by": format_instant(at + promised_in),
            "ship_by": format_instant(at + timedelta(days=1)),
            "lines": lines or [{"name": "Desk lamp", "quantity": 1}],
            "total": {"amount": "109.29", "currency": "USD"},
        },
    }


def shipment(
    at: datetime, status: str, *, order_id: str = "A1001", event_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    body = {
        "order_id": order_id,
        "carrier": "ups",
        "tracking_number": f"1Z{order_id}",
        "status": status,
        **fields,
    }
    return {
        "id": event_id or next_id(),
        "type": "shipment.updated",
        "occurred_at": format_instant(at),
        "shipment": body,
    }


def signed(
    body: Any, *, now: datetime, secret: str = SECRET, msg_id: str | None = None
) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = int(now.timestamp())
    mid = msg_id or next_id("msg")
    return raw, {
        "webhook-id": mid,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, msg_id=mid, timestamp=stamp, body=raw),
        "content-type": "application/json",
    }
