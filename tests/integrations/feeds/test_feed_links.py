"""Links from the feeds (issue 12, item 8): Shopify's order_status_url and tracking_url(s), EasyPost's
public_url and AfterShip's courier_tracking_link reach the order and the customer's message; a link that
is not https (javascript:, data:, http:) is never kept, and the message falls back to our status page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from support import builders, paths
from support.pipeline import drain, notices, post

from engine.clock import SimulatedClock
from engine.events import parse_events
from engine.inbound.feed import WebhookRequest
from engine.links.build import status_url
from engine.links.tokens import Page
from engine.models import Order
from engine.runtime import Runtime
from integrations.feeds.aftership import AfterShipFeed
from integrations.feeds.easypost import EasyPostFeed
from integrations.feeds.shopify import ShopifyFeed

NOW = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
SHOPIFY_ORDER_PAGE = "https://jsmith.myshopify.com/548380009/orders/123456abcd/authenticate?key=abcdefg"
UPS_PAGE = "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1z827wk74630"
USPS_PAGE = "https://tools.usps.com/go/TrackConfirmAction?tLabels=9361289676091361892011"
UNSAFE = ["javascript:alert(document.cookie)", "http://track.example.com/1", "data:text/html,<b>hi</b>", "/orders/1"]


def load(folder: Any, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / name).read_text())
    return data


def parsed(feed: Any, body: dict[str, Any], **headers: str) -> list[dict[str, Any]]:
    request = WebhookRequest(headers=headers, query={}, body=json.dumps(body).encode(), received_at=NOW)
    return [event.model_dump(mode="json", exclude_none=True) for event in feed.parse(request)]


def shopify_order(**changes: Any) -> dict[str, Any]:
    return {**load(paths.PAYLOADS, "shopify_orders_create.json"), "cancelled_at": None, **changes}


def shopify_fulfillment(**changes: Any) -> dict[str, Any]:
    return {**load(paths.PAYLOADS, "shopify_fulfillments_update.json"), **changes}


def easypost(**changes: Any) -> dict[str, Any]:
    data = load(paths.PAYLOADS, "easypost_tracker_updated_fixture.json")
    data["result"].update(changes)
    return data


def aftership(**changes: Any) -> dict[str, Any]:
    data = load(paths.FIXTURES / "vendor", "aftership_tracking_update_exception.json")
    data["msg"].update(changes)
    return data


def order_url(body: dict[str, Any], topic: str = "orders/create") -> str | None:
    events = parsed(ShopifyFeed("s"), body, **{"x-shopify-topic": topic, "x-shopify-webhook-id": "w"})
    url: str | None = events[-1]["order"].get("order_url")
    return url


def tracking_url(feed: Any, body: dict[str, Any], **headers: str) -> str | None:
    (event,) = parsed(feed, body, **headers)
    url: str | None = event["shipment"].get("tracking_url")
    return url


FULFILLMENT = {"x-shopify-topic": "fulfillments/create", "x-shopify-webhook-id": "w"}


def test_the_real_payloads_carry_their_links() -> None:
    assert order_url(shopify_order()) == SHOPIFY_ORDER_PAGE
    assert order_url(shopify_order(updated_at="2022-01-02T08:00:00Z"), "orders/updated") == SHOPIFY_ORDER_PAGE
    assert tracking_url(ShopifyFeed("s"), shopify_fulfillment(), **FULFILLMENT) == UPS_PAGE
    # Only tracking_urls (newer API versions drop the singular): its first https entry.
    assert tracking_url(ShopifyFeed("s"), shopify_fulfillment(tracking_url=None), **FULFILLMENT) == UPS_PAGE
    assert tracking_url(EasyPostFeed("s"), easypost()) == "https://track.easypost.com/1"
    assert tracking_url(AfterShipFeed("s"), aftership()) == USPS_PAGE


@pytest.mark.parametrize("unsafe", UNSAFE)
def test_a_link_that_is_not_https_is_never_kept(unsafe: str) -> None:
    assert order_url(shopify_order(order_status_url=unsafe)) is None
    fulfillment = shopify_fulfillment(tracking_url=unsafe, tracking_urls=[unsafe])
    assert tracking_url(ShopifyFeed("s"), fulfillment, **FULFILLMENT) is None
    assert tracking_url(EasyPostFeed("s"), easypost(public_url=unsafe)) is None
    assert tracking_url(AfterShipFeed("s"), aftership(courier_tracking_link=unsafe)) is None
    # The canonical feed (and a replay trace) too: the link is dropped, the event kept.
    (event,) = parse_events([builders.shipment(NOW, "in_transit", tracking_url=unsafe)])
    assert event.shipment is not None and event.shipment.tracking_url is None


def weather_hold(
    client: TestClient, clock: SimulatedClock, order_id: str, *, order_page: str, tracking_page: str
) -> None:
    t = clock.now()
    customer_id = f"C-{order_id}"
    created = builders.order_created(t - timedelta(days=2), order_id=order_id, customer_id=customer_id)
    created["order"]["order_url"] = order_page
    post(
        client,
        clock,
        builders.customer_upserted(t - timedelta(days=5), cid=customer_id),
        created,
        builders.shipment(t - timedelta(days=1), "in_transit", order_id=order_id, tracking_url=tracking_page),
        builders.shipment(t, "exception", order_id=order_id, exception="weather"),
    )


def test_messages_link_to_the_feeds_pages_and_else_to_our_status_page(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    weather_hold(client, clock, "K1", order_page=SHOPIFY_ORDER_PAGE, tracking_page=UPS_PAGE)
    weather_hold(client, clock, "K2", order_page="javascript:alert(1)", tracking_page="http://ups.example/1")
    drain(rt)
    with Session(rt.db) as session:
        kept = session.get(Order, "K1")
        dropped = session.get(Order, "K2")
    assert kept is not None and (kept.order_url, kept.tracking_url) == (SHOPIFY_ORDER_PAGE, UPS_PAGE)
    assert dropped is not None and (dropped.order_url, dropped.tracking_url) == (None, None)

    by_order = {n.order_id: n.body for n in notices(rt) if n.channel == "email"}
    assert f"Track your parcel: {UPS_PAGE}" in by_order["K1"]
    own = status_url(rt.settings.public_url, rt.settings.secret_key, Page.ORDER, "K2")
    assert f"Track your parcel: {own}" in by_order["K2"]
    assert "javascript:" not in by_order["K2"] and "http://ups.example" not in by_order["K2"]


def test_a_text_gives_up_a_long_feed_link_for_our_short_page(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    long_page = "https://track.example.com/parcel?" + "&".join(f"p{n}=v{n}" for n in range(60))
    weather_hold(client, clock, "K3", order_page=SHOPIFY_ORDER_PAGE, tracking_page=long_page)
    drain(rt)
    sent = {n.channel: n.body for n in notices(rt) if n.order_id == "K3"}
    assert f"Track your parcel: {long_page}" in sent["email"]
    own = status_url(rt.settings.public_url, rt.settings.secret_key, Page.ORDER, "K3")
    assert own in sent["sms"] and long_page not in sent["sms"]
