"""Inbound feed adapters, registered by source name for the webhook route."""

from __future__ import annotations

from engine.config import Settings
from engine.feeds import Feed
from integrations.feeds.aftership import AfterShipFeed
from integrations.feeds.alertmanager import AlertmanagerFeed
from integrations.feeds.easypost import EasyPostFeed
from integrations.feeds.events import CanonicalEventsFeed
from integrations.feeds.pagerduty import PagerDutyFeed
from integrations.feeds.shopify import ShopifyFeed
from integrations.feeds.statuspage import StatuspageFeed

KNOWN_SOURCES = ("shopify", "easypost", "aftership", "statuspage", "alertmanager", "pagerduty", "events")


def build_feeds(settings: Settings) -> dict[str, Feed]:
    """Feeds whose secret or token is configured; an unconfigured source answers 401."""
    feeds: dict[str, Feed] = {}
    secret = settings.webhook_secret("events")
    if secret:
        feeds["events"] = CanonicalEventsFeed(
            secret, tolerance_seconds=settings.webhook_tolerance_delta.total_seconds()
        )
    secret = settings.webhook_secret("shopify")
    if secret:
        feeds["shopify"] = ShopifyFeed(
            secret,
            promise_attribute=settings.shopify_promise_attribute,
            shipping_days=settings.shopify_shipping_days,
            default_days=settings.shopify_default_days,
        )
    secret = settings.webhook_secret("easypost")
    if secret:
        feeds["easypost"] = EasyPostFeed(secret)
    secret = settings.webhook_secret("aftership")
    if secret:
        feeds["aftership"] = AfterShipFeed(secret)
    secret = settings.webhook_secret("pagerduty")
    if secret:
        feeds["pagerduty"] = PagerDutyFeed(secret, component_map=settings.pagerduty_component_map)
    token = settings.webhook_token("statuspage")
    if token:
        feeds["statuspage"] = StatuspageFeed(token, component_map=settings.statuspage_component_map)
    token = settings.webhook_token("alertmanager")
    if token:
        feeds["alertmanager"] = AlertmanagerFeed(
            token,
            component_labels=settings.alertmanager_component_labels.split(","),
            component_map=settings.alertmanager_component_map,
        )
    return feeds
