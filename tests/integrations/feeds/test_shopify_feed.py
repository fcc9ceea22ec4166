"""Shopify: HMAC over the raw body, orders and fulfillments onto canonical events, the promise rule."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from support import paths
from support.pipeline import drain

from engine.errors import InvalidEvent, SignatureError
from engine.inbound.feed import WebhookRequest
from engine.models import InboundEvent, Order
from engine.runtime import Runtime
from integrations.feeds.shopify import ShopifyFeed

PAYLOADS = paths.PAYLOADS
SECRET = "shopify-test-secret"  # the `settings` fixture's FOREWARN_WEBHOOK_SECRET_SHOPIFY
NOW = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
ORDER_ID = "820982911946154500"


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def request(
    body: bytes | dict[str, Any], topic: str, webhook_id: str | None = "wh-1", **headers: str
) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"x-shopify-topic": topic, "x-shopify-hmac-sha256": sign(raw), **headers}
    if webhook_id:
        sent["x-shopify-webhook-id"] = webhook_id
    return WebhookRequest(headers=sent, query={}, body=raw, received_at=NOW)


def dumped(feed: ShopifyFeed, req: WebhookRequest) -> list[dict[str, Any]]:
    return [event.model_dump(mode="json", exclude_none=True) for event in feed.parse(req)]


def order(**changes: Any) -> dict[str, Any]:
    data = sample("shopify_orders_create.json")
    data["cancelled_at"] = None  # Shopify's documentation example is an already-cancelled order
    data.update(changes)
    return data


# --- orders ---


def test_real_orders_create_sample_gives_customer_and_order() -> None:
    body = (PAYLOADS / "shopify_orders_create.json").read_bytes()
    customer, created = dumped(ShopifyFeed(SECRET), request(body, "orders/create"))
    assert customer["id"] == "shopify:wh-1:0" and created["id"] == "shopify:wh-1:1"
    assert customer["type"] == "customer.upserted"
    assert customer["customer"] == {
        "id": "115310627314723950",
        "name": "John Smith",
        "email": "john@example.com",
        "locale": "en",
    }  # no E.164 phone anywhere, and no SMS consent stated → channels left to the engine's default
    assert created["type"] == "order.created"
    assert created["occurred_at"] == "2022-01-01T00:00:00Z"  # 2021-12-31T19:00:00-05:00, normalised
    body_ = created["order"]
    assert body_["id"] == ORDER_ID and body_["customer"] == {"id": "115310627314723950"}
    assert body_["placed_at"] == "2022-01-01T00:00:00Z"
    # Friday 31 Dec in the shop's zone + 5 business days = Friday 7 Jan, 23:59 at -05:00.
    assert body_["promised_by"] == "2022-01-08T04:59:00Z"
    assert [line["name"] for line in body_["lines"]][:2] == ["Aviator sunglasses", "Lens Protection Plan (2 Year)"]
    assert all(line["quantity"] == 1 for line in body_["lines"]) and len(body_["lines"]) == 5
    assert body_["total"] == {"amount": "404.95", "currency": "USD"}
    assert body_["name"] == "#9999"


def test_promise_from_shipping_line_title_case_insensitively() -> None:
    feed = ShopifyFeed(SECRET, shipping_days={"generic shipping": 2, "Express": 1})
    created = dumped(feed, request(order(), "orders/create"))[1]
    assert created["order"]["promised_by"] == "2022-01-05T04:59:00Z"  # Tue 4 Jan 23:59 -05:00


def test_promise_default_days_is_configurable_and_skips_weekends() -> None:
    saturday = order(created_at="2026-03-07T10:00:00+01:00")
    created = dumped(ShopifyFeed(SECRET, default_days=1), request(saturday, "orders/create"))[1]
    assert created["order"]["promised_by"] == "2026-03-09T22:59:00Z"  # Monday 23:59 at +01:00
    created = dumped(ShopifyFeed(SECRET, default_days=0), request(saturday, "orders/create"))[1]
    assert created["order"]["promised_by"] == "2026-03-07T22:59:00Z"


@pytest.mark.parametrize(
    ("attribute", "value", "expected"),
    [
        ("promised_by", "2022-01-20T18:00:00+02:00", "2022-01-20T16:00:00Z"),
        ("Promised_By", "2022-01-20", "2022-01-21T04:59:00Z"),  # a date: 23:59 in the shop's offset
        ("promised_by", "next tuesday", "2022-01-14T04:59:00Z"),  # unreadable: the shipping line's 9 days
        ("gift_note", "2022-01-20", "2022-01-14T04:59:00Z"),  # another attribute: ignored
    ],
)
def test_promise_from_note_attribute(attribute: str, value: str, expected: str) -> None:
    body = order(note_attributes=[{"name": attribute, "value": value}])
    created = dumped(ShopifyFeed(SECRET, shipping_days={"Generic Shipping": 9}), request(body, "orders/create"))[1]
    assert created["order"]["promised_by"] == expected


def test_promise_attribute_name_is_configurable() -> None:
    body = order(note_attributes=[{"name": "delivery_by", "value": "2022-02-01"}])
    created = dumped(ShopifyFeed(SECRET, promise_attribute="delivery_by"), request(body, "orders/create"))[1]
    assert created["order"]["promised_by"] == "2022-02-02T04:59:00Z"


@pytest.mark.parametrize(
    ("consent", "phone", "channels"),
    [
        ({"state": "subscribed"}, "+1 (555) 123-4567", ["email", "sms"]),
        ({"state": "unsubscribed"}, "+15551234567", ["email"]),
        ({"state": "subscribed"}, "555-555-SHIP", ["email"]),  # no dialable number, no SMS
    ],
)
def test_sms_only_with_stated_consent_and_an_e164_phone(
    consent: dict[str, str], phone: str, channels: list[str]
) -> None:
    body = order()
    body["customer"]["sms_marketing_consent"] = consent
    body["customer"]["phone"] = phone
    customer = dumped(ShopifyFeed(SECRET), request(body, "orders/create"))[0]["customer"]
    assert customer["channels"] == channels


def test_guest_checkout_and_missing_optional_fields_still_parse() -> None:
    body = order(customer=None, email="guest@example.com")
    for field in ("customer_locale", "shipping_lines", "line_items", "total_price_set", "billing_address", "name"):
        body.pop(field)
    body.pop("processed_at")
    customer, created = dumped(ShopifyFeed(SECRET), request(body, "orders/create"))
    assert customer["customer"] == {
        "id": f"shopify-guest:{ORDER_ID}",
        "name": "Steve Shipper",
        "email": "guest@example.com",
    }
    assert created["order"]["total"] == {"amount": "404.95", "currency": "USD"}  # total_price + currency
    assert "lines" not in created["order"] and created["order"]["promised_by"] == "2022-01-08T04:59:00Z"


def test_removed_items_are_left_out() -> None:
    body = order()
    body["line_items"][1]["current_quantity"] = 0
    body["line_items"][2].pop("current_quantity")
    body["line_items"][2]["quantity"] = 3
    lines = dumped(ShopifyFeed(SECRET), request(body, "orders/create"))[1]["order"]["lines"]
    assert [(line["name"], line["quantity"]) for line in lines][:2] == [
        ("Aviator sunglasses", 1),
        ("Premium Leather Case", 3),
    ]
    assert len(lines) == 4


def test_huge_integer_ids_stay_exact() -> None:
    raw = json.dumps(order()).replace(ORDER_ID, "123456789012345678901234567890").encode()
    created = dumped(ShopifyFeed(SECRET), request(raw, "orders/create"))[1]
    assert created["order"]["id"] == "123456789012345678901234567890"


def test_orders_updated_sends_details_but_no_derived_promise() -> None:
    (updated,) = dumped(ShopifyFeed(SECRET), request(order(updated_at="2022-01-02T08:00:00Z"), "orders/updated"))
    assert updated["type"] == "order.updated" and updated["occurred_at"] == "2022-01-02T08:00:00Z"
    assert updated["order"]["id"] == ORDER_ID and "promised_by" not in updated["order"]
    assert len(updated["order"]["lines"]) == 5
    explicit = order(note_attributes=[{"name": "promised_by", "value": "2022-01-10"}])
    (updated,) = dumped(ShopifyFeed(SECRET), request(explicit, "orders/updated"))
    assert updated["order"]["promised_by"] == "2022-01-11T04:59:00Z"


def test_cancellation_from_orders_cancelled_or_orders_updated() -> None:
    cancelled = order(cancelled_at="2022-01-03T10:00:00-05:00")
    for topic in ("orders/cancelled", "orders/updated"):
        (event,) = dumped(ShopifyFeed(SECRET), request(cancelled, topic))
        assert event["type"] == "order.canceled" and event["occurred_at"] == "2022-01-03T15:00:00Z"
        assert event["order"] == {"id": ORDER_ID, "customer": {"id": "115310627314723950"}}


# --- fulfillments ---


def test_real_fulfillment_sample_on_create_is_label_created_and_on_update_says_nothing() -> None:
    body = (PAYLOADS / "shopify_fulfillments_update.json").read_bytes()
    (event,) = dumped(ShopifyFeed(SECRET), request(body, "fulfillments/create"))
    assert event["type"] == "shipment.updated" and event["occurred_at"] == "2022-01-01T00:00:00Z"
    assert event["shipment"] == {
        "order_id": ORDER_ID,
        "carrier": "UPS",
        "tracking_number": "1z827wk74630",
        "status": "label_created",
        "tracking_url": "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1z827wk74630",
    }
    # shipment_status null on an update: no carrier news, and it must not undo a scan another feed saw.
    assert dumped(ShopifyFeed(SECRET), request(body, "fulfillments/update")) == []


@pytest.mark.parametrize(
    ("shipment_status", "status", "exception", "message"),
    [
        ("label_purchased", "label_created", None, None),
        ("confirmed", "label_created", None, None),
        ("in_transit", "in_transit", None, None),
        ("out_for_delivery", "out_for_delivery", None, None),
        ("ready_for_pickup", "out_for_delivery", None, "ready for pickup"),
        ("attempted_delivery", "exception", "other", "delivery attempt failed"),
        ("delivered", "delivered", None, None),
        ("failure", "exception", "other", "delivery failed"),
    ],
)
def test_fulfillment_shipment_status_mapping(
    shipment_status: str, status: str, exception: str | None, message: str | None
) -> None:
    body = sample("shopify_fulfillments_update.json")
    body["shipment_status"] = shipment_status
    (event,) = dumped(ShopifyFeed(SECRET), request(body, "fulfillments/update"))
    assert event["shipment"]["status"] == status
    assert event["shipment"].get("exception") == exception and event["shipment"].get("message") == message


def test_cancelled_fulfillment_is_an_exception_and_unknown_status_is_skipped() -> None:
    body = sample("shopify_fulfillments_update.json")
    body.update(status="cancelled", shipment_status="in_transit", tracking_number=None)
    (event,) = dumped(ShopifyFeed(SECRET), request(body, "fulfillments/update"))
    assert event["shipment"]["status"] == "exception" and event["shipment"]["message"] == "fulfillment cancelled"
    assert event["shipment"]["tracking_number"] == "1z827wk74630"  # from tracking_numbers
    body.update(status="success", shipment_status="teleported")
    assert dumped(ShopifyFeed(SECRET), request(body, "fulfillments/update")) == []


def test_real_fulfillment_event_sample() -> None:
    body = (PAYLOADS / "shopify_fulfillment_events_create.json").read_bytes()
    (event,) = dumped(ShopifyFeed(SECRET), request(body, "fulfillment_events/create"))
    assert event["occurred_at"] == "2022-01-01T00:00:00Z"
    shipment = event["shipment"]
    assert shipment["order_id"] == ORDER_ID and shipment["status"] == "in_transit"
    assert shipment["location"] == "CA" and shipment["message"] == "Item is now in transit"
    assert "estimated_delivery_at" not in shipment


def test_fulfillment_event_attempt_with_eta_and_place() -> None:
    body = sample("shopify_fulfillment_events_create.json")
    body.update(
        status="attempted_delivery",
        message=None,
        city="Ottawa",
        province="Ontario",
        estimated_delivery_at="2022-01-05T17:00:00-05:00",
        happened_at="2022-01-04T09:30:00-05:00",
    )
    (event,) = dumped(ShopifyFeed(SECRET), request(body, "fulfillment_events/create"))
    assert event["occurred_at"] == "2022-01-04T14:30:00Z"
    assert event["shipment"]["status"] == "exception" and event["shipment"]["exception"] == "other"
    assert event["shipment"]["message"] == "delivery attempt failed"
    assert event["shipment"]["location"] == "Ottawa, Ontario, CA"
    assert event["shipment"]["estimated_delivery_at"] == "2022-01-05T22:00:00Z"


# --- signatures, dedupe keys, bad input ---


def test_signature_good_bad_and_missing() -> None:
    body = (PAYLOADS / "shopify_orders_create.json").read_bytes()
    feed = ShopifyFeed(SECRET)
    feed.verify(request(body, "orders/create"))
    tampered = request(body, "orders/create")
    with pytest.raises(SignatureError, match="does not match"):
        feed.verify(WebhookRequest(tampered.headers, {}, body + b" ", NOW))
    with pytest.raises(SignatureError, match="does not match"):
        ShopifyFeed("another-secret").verify(tampered)
    headers = {k: v for k, v in tampered.headers.items() if k != "x-shopify-hmac-sha256"}
    with pytest.raises(SignatureError, match="missing X-Shopify-Hmac-Sha256"):
        feed.verify(WebhookRequest(headers, {}, body, NOW))


def test_event_ids_are_stable_per_delivery() -> None:
    body = json.dumps(order()).encode()
    feed = ShopifyFeed(SECRET)
    assert [e.id for e in feed.parse(request(body, "orders/create", "abc"))] == ["shopify:abc:0", "shopify:abc:1"]
    first = [e.id for e in feed.parse(request(body, "orders/create", None))]
    assert first == [e.id for e in feed.parse(request(body, "orders/create", None))]
    other = [e.id for e in feed.parse(request(body + b"\n", "orders/create", None))]
    assert first != other and first[0].startswith("shopify:")


@pytest.mark.parametrize(
    ("body", "topic", "message"),
    [
        (b"{not json", "orders/create", "not valid JSON"),
        (b"[1, 2]", "orders/create", "JSON object"),
        (b"{}", "", "missing X-Shopify-Topic"),
        (b"{not json", "products/create", "not valid JSON"),
        (b'{"created_at": "2022-01-01T00:00:00Z"}', "orders/create", "order.id"),
        (b'{"id": 5, "created_at": "yesterday"}', "orders/create", "order.created_at"),
        (b'{"id": 5, "status": "success"}', "fulfillments/update", "fulfillment.order_id"),
        (b'{"order_id": 5, "happened_at": "2022-01-01T00:00:00Z"}', "fulfillment_events/create", "status"),
    ],
)
def test_malformed_input_says_what_is_wrong(body: bytes, topic: str, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        ShopifyFeed(SECRET).parse(request(body, topic))


@pytest.mark.parametrize("topic", ["products/create", "orders/paid", "orders/fulfilled", "app/uninstalled"])
def test_topics_we_do_not_use_are_read_and_ignored(topic: str) -> None:
    # Answering them with an error would make Shopify retry and, in the end, remove the subscription.
    assert ShopifyFeed(SECRET).parse(request(json.dumps(sample("shopify_orders_create.json")).encode(), topic)) == []


# --- end to end through the real app ---


def count(rt: Runtime) -> int:
    with Session(rt.db) as session:
        return session.exec(select(func.count()).select_from(InboundEvent)).one()


def test_http_signed_sample_is_stored_once(client: TestClient, rt: Runtime) -> None:
    body = (PAYLOADS / "shopify_orders_create.json").read_bytes()
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "e2e-1", "X-Shopify-Hmac-Sha256": sign(body)}
    first = client.post("/webhooks/shopify", content=body, headers=headers)
    assert first.status_code == 202 and first.json() == {"accepted": 2, "duplicates": 0}
    again = client.post("/webhooks/shopify", content=body, headers=headers)
    assert again.status_code == 202 and again.json() == {"accepted": 0, "duplicates": 2}
    assert count(rt) == 2
    bad = client.post("/webhooks/shopify", content=body, headers={**headers, "X-Shopify-Hmac-Sha256": sign(body, "x")})
    assert bad.status_code == 401
    garbage = b"\x00 not json"
    response = client.post(
        "/webhooks/shopify", content=garbage, headers={**headers, "X-Shopify-Hmac-Sha256": sign(garbage)}
    )
    assert response.status_code == 400 and "JSON" in response.json()["detail"]
    odd = copy.deepcopy(headers) | {"X-Shopify-Topic": "carts/update"}
    ignored = client.post("/webhooks/shopify", content=body, headers=odd)  # a topic we do not use
    assert ignored.status_code == 202 and ignored.json() == {"accepted": 0, "duplicates": 0}
    assert count(rt) == 2
    drain(rt)  # the engine applies what the feed produced
    with Session(rt.db) as session:
        stored = session.get(Order, ORDER_ID)
        assert stored is not None and stored.customer_id == "115310627314723950"
        assert stored.promised_by == datetime(2022, 1, 8, 4, 59, tzinfo=UTC) and len(stored.lines) == 5
        assert set(session.exec(select(InboundEvent.outcome)).all()) == {"applied"}


def test_long_vendor_text_is_cut_and_overlong_ids_refused() -> None:
    body = sample("shopify_fulfillments_update.json")
    body.update(shipment_status="in_transit", tracking_company="X" * 300)
    (event,) = dumped(ShopifyFeed(SECRET), request(body, "fulfillments/update"))
    assert len(event["shipment"]["carrier"]) == 64
    body["order_id"] = "9" * 129
    with pytest.raises(InvalidEvent, match=r"shipment\.order_id is longer than 128"):
        ShopifyFeed(SECRET).parse(request(body, "fulfillments/update"))


@pytest.mark.faults
def test_the_unsigned_topic_header_cannot_cancel_an_order() -> None:
    """Shopify signs the body only: an orders/updated delivery replayed under orders/cancelled is an update."""
    (event,) = dumped(ShopifyFeed(SECRET), request(order(), "orders/cancelled"))
    assert event["type"] == "order.updated"
