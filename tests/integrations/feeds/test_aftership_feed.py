"""AfterShip: base64 HMAC over the raw body, tracking updates and EDD revisions onto `shipment.updated`.

There is no real AfterShip sample in shared/payloads: the payloads below are constructed from AfterShip's
documented webhook schema (Webhook Specifications: `event`, `event_id`, `is_tracking_first_tag`, `msg`,
`ts`; the tracking model's `tag`/`subtag`, `checkpoints` and estimated-delivery objects).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from support.pipeline import drain

from engine.clock import SimulatedClock
from engine.errors import InvalidEvent, SignatureError
from engine.inbound.feed import WebhookRequest
from engine.models import InboundEvent
from engine.runtime import Runtime
from integrations.feeds.aftership import AfterShipFeed

SECRET = "aftership-test-secret"  # the `settings` fixture's FOREWARN_WEBHOOK_SECRET_AFTERSHIP
NOW = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)


def payload(**msg_changes: Any) -> dict[str, Any]:
    """A tracking_update as AfterShip documents it (constructed from AfterShip's documented schema)."""
    msg: dict[str, Any] = {
        "id": "grhrexm6t3hiwkjwq37jd003",
        "tracking_number": "9361289676091361892011",
        "title": "9361289676091361892011",
        "slug": "usps",
        "active": True,
        "order_id": "820982911946154508",
        "order_number": "#1001",
        "order_date": "2026-02-27T08:52:54Z",
        "tag": "InTransit",
        "subtag": "InTransit_002",
        "subtag_message": "Acceptance scan",
        "created_at": "2026-02-27T10:00:00+00:00",
        "updated_at": "2026-03-02T16:05:00+00:00",
        "expected_delivery": None,
        "aftership_estimated_delivery_date": {
            "estimated_delivery_date": "2026-03-05",
            "confidence_score": 80,
            "estimated_delivery_date_min": "2026-03-04",
            "estimated_delivery_date_max": "2026-03-06",
        },
        "courier_estimated_delivery_date": None,
        "custom_estimated_delivery_date": None,
        "checkpoints": [
            {
                "slug": "usps",
                "city": "Orlando",
                "state": "FL",
                "country_name": "USA",
                "location": "Orlando, FL, USA",
                "message": "Shipping Label Created",
                "tag": "InfoReceived",
                "subtag": "InfoReceived_001",
                "checkpoint_time": "2026-02-27T09:12:00-05:00",
                "created_at": "2026-02-27T14:20:00+00:00",
            },
            {
                "slug": "usps",
                "city": "Jacksonville",
                "state": "FL",
                "country_name": "USA",
                "location": "Jacksonville, FL, USA",
                "message": "Arrived at USPS Regional Facility",
                "tag": "InTransit",
                "subtag": "InTransit_003",
                "checkpoint_time": "2026-03-02T10:40:00-05:00",
                "created_at": "2026-03-02T16:00:00+00:00",
            },
        ],
    }
    msg.update(msg_changes)
    return {
        "event_id": "3f645f5e-530b-4062-8695-db6a64420af8",
        "event": "tracking_update",
        "is_tracking_first_tag": True,
        "msg": msg,
        "ts": 1772467500,
    }


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def request(body: bytes | dict[str, Any], signature: str | None = None) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"aftership-hmac-sha256": signature if signature is not None else sign(raw)}
    return WebhookRequest(headers=headers, query={}, body=raw, received_at=NOW)


def event_of(data: dict[str, Any]) -> dict[str, Any]:
    (event,) = AfterShipFeed(SECRET).parse(request(data))
    dumped: dict[str, Any] = event.model_dump(mode="json", exclude_none=True)
    return dumped


def test_tracking_update_maps_onto_a_shipment_scan() -> None:
    event = event_of(payload())
    assert event["id"] == "aftership:3f645f5e-530b-4062-8695-db6a64420af8"
    assert event["type"] == "shipment.updated" and event["occurred_at"] == "2026-03-02T15:40:00Z"
    assert event["shipment"] == {
        "order_id": "820982911946154508",
        "carrier": "usps",
        "tracking_number": "9361289676091361892011",
        "status": "in_transit",
        "estimated_delivery_at": "2026-03-05T12:00:00Z",
        "location": "Jacksonville, FL, USA",
        "message": "Arrived at USPS Regional Facility",
    }


def test_checkpoints_out_of_order_and_without_offset() -> None:
    data = payload()
    newest, oldest = data["msg"]["checkpoints"][1], data["msg"]["checkpoints"][0]
    newest["checkpoint_time"] = "2026-03-02T10:40:00"  # carrier-local, no offset: AfterShip's created_at counts
    data["msg"]["checkpoints"] = [newest, oldest]
    event = event_of(data)
    assert event["occurred_at"] == "2026-03-02T16:00:00Z" and event["shipment"]["location"].startswith("Jacksonville")


@pytest.mark.parametrize(
    ("tag", "subtag", "status", "exception"),
    [
        ("Pending", "Pending_001", "label_created", None),
        ("InfoReceived", "InfoReceived_001", "label_created", None),
        ("OutForDelivery", "OutForDelivery_001", "out_for_delivery", None),
        ("AvailableForPickup", "AvailableForPickup_001", "out_for_delivery", None),
        ("AttemptFail", "AttemptFail_002", "exception", "other"),
        ("Delivered", "Delivered_001", "delivered", None),
        ("Exception", "Exception_007", "exception", "address"),
        ("Exception", "Exception_004", "exception", "customs"),
        ("Exception", "Exception_012", "exception", "damaged"),
        ("Exception", "Exception_017", "exception", "weather"),
        ("Exception", "Exception_011", "returned", None),
        ("Exception", "Exception_013", "lost", None),
        ("Exception", "Exception_006", "exception", "other"),
        ("Expired", "Expired_001", "exception", "other"),
    ],
)
def test_tag_mapping(tag: str, subtag: str, status: str, exception: str | None) -> None:
    shipment = event_of(payload(tag=tag, subtag=subtag, subtag_message="Held for payment"))["shipment"]
    assert shipment["status"] == status and shipment.get("exception") == exception
    if tag == "Exception":
        assert shipment["message"] == "Held for payment"


def test_edd_revise_prefers_the_merchant_and_carrier_estimates() -> None:
    data = payload(
        custom_estimated_delivery_date={"type": "specific", "datetime": "2026-03-09", "datetime_max": None},
        courier_estimated_delivery_date={"estimated_delivery_date": "2026-03-07T18:00:00-05:00"},
    )
    data["event"] = "edd_revise"
    assert event_of(data)["shipment"]["estimated_delivery_at"] == "2026-03-09T12:00:00Z"
    data["msg"]["custom_estimated_delivery_date"] = None
    assert event_of(data)["shipment"]["estimated_delivery_at"] == "2026-03-07T23:00:00Z"


def test_older_shapes_and_missing_optional_fields() -> None:
    data = payload(order_id=None, expected_delivery="2026-03-06")
    for field in ("aftership_estimated_delivery_date", "courier_estimated_delivery_date", "checkpoints", "slug"):
        data["msg"].pop(field)
    data.pop("event_id")
    event = event_of(data)
    assert event["shipment"]["order_id"] == "#1001"  # order_number when there is no order_id
    assert event["shipment"]["estimated_delivery_at"] == "2026-03-06T12:00:00Z"
    assert event["occurred_at"] == "2026-03-02T16:05:00Z"  # msg.updated_at without checkpoints
    assert event["id"].startswith("aftership:") and event["id"] == event_of(data)["id"]
    data["msg"].update(order_number=None, updated_at=None)
    event = event_of(data)
    assert event["shipment"]["order_id"] == "tracking:9361289676091361892011"
    assert event["occurred_at"] == "2026-03-02T16:05:00Z"  # ts


def test_other_events_and_new_tags_are_accepted_without_an_event() -> None:
    data = payload()
    data["event"] = "tracking_pending_time"
    assert AfterShipFeed(SECRET).parse(request(data)) == []
    assert AfterShipFeed(SECRET).parse(request(payload(tag="Teleported"))) == []


def test_signature_good_bad_and_missing() -> None:
    body = json.dumps(payload()).encode()
    feed = AfterShipFeed(SECRET)
    feed.verify(request(body))
    with pytest.raises(SignatureError, match="does not match"):
        feed.verify(request(body, sign(body, "other")))
    with pytest.raises(SignatureError, match="does not match"):
        feed.verify(request(body + b"\n", sign(body)))
    with pytest.raises(SignatureError, match="missing aftership-hmac-sha256"):
        feed.verify(WebhookRequest(headers={}, query={}, body=body, received_at=NOW))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<xml/>", "not valid JSON"),
        (b"[]", "JSON object"),
        (b'{"msg": {}}', "event: missing"),
        (b'{"event": "tracking_update"}', "msg"),
        (b'{"event": "tracking_update", "msg": {"tracking_number": "1"}}', "msg.tag"),
        (b'{"event": "tracking_update", "msg": {"tag": "InTransit"}}', "msg.tracking_number"),
    ],
)
def test_malformed_input_says_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        AfterShipFeed(SECRET).parse(request(body))


def count(rt: Runtime) -> int:
    with Session(rt.db) as session:
        return session.exec(select(func.count()).select_from(InboundEvent)).one()


def test_http_signed_update_is_stored_once(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    body = json.dumps(payload()).encode()
    headers = {"aftership-hmac-sha256": sign(body), "Content-Type": "application/json"}
    first = client.post("/webhooks/aftership", content=body, headers=headers)
    assert first.status_code == 202 and first.json() == {"accepted": 1, "duplicates": 0}
    again = client.post("/webhooks/aftership", content=body, headers=headers)
    assert again.status_code == 202 and again.json() == {"accepted": 0, "duplicates": 1}
    bad = client.post("/webhooks/aftership", content=body, headers={"aftership-hmac-sha256": sign(body, "x")})
    assert bad.status_code == 401
    garbage = b'{"event": "tracking_update", "msg": "nope"}'
    response = client.post("/webhooks/aftership", content=garbage, headers={"aftership-hmac-sha256": sign(garbage)})
    assert response.status_code == 400 and "msg" in response.json()["detail"]
    assert count(rt) == 1
    drain(rt)
    with Session(rt.db) as session:
        assert session.exec(select(InboundEvent.outcome)).one().startswith("waiting: order")
    clock.advance(timedelta(days=1, minutes=1))  # the order never came: stop waiting for it
    drain(rt)
    with Session(rt.db) as session:
        assert session.exec(select(InboundEvent.outcome)).one() == "ignored: unknown order"
