"""Inbound feed adapters, registered by source name for the webhook route."""

from __future__ import annotations

from engine.config import Settings
from engine.inbound.feed import Feed
from engine.vocabulary import FeedSource
from integrations.feeds.aftership import AfterShipFeed
from integrations.feeds.alertmanager import AlertmanagerFeed
from integrations.feeds.easypost import EasyPostFeed
from integrations.feeds.events import CanonicalEventsFeed
from integrations.feeds.pagerduty import PagerDutyFeed
from integrations.feeds.shopify import ShopifyFeed
from integrations.feeds.statuspage import StatuspageFeed


def build_feeds(settings: Settings) -> dict[FeedSource, Feed]:
    """Feeds whose secret or token is configured (`FeedSource.signed` says which); an unconfigured source
    answers 401."""
    feeds: dict[FeedSource, Feed] = {}
    secret = settings.webhook_secret(FeedSource.EVENTS)
    if secret:
        feeds[FeedSource.EVENTS] = CanonicalEventsFeed(
            secret, tolerance_seconds=settings.webhook_tolerance_delta.total_seconds()
        )
    secret = settings.webhook_secret(FeedSource.SHOPIFY)
    if secret:
        feeds[FeedSource.SHOPIFY] = ShopifyFeed(
            secret,
            promise_attribute=settings.shopify_promise_attribute,
            shipping_days=settings.shopify_shipping_days,
            default_days=settings.shopify_default_days,
        )
    secret = settings.webhook_secret(FeedSource.EASYPOST)
    if secret:
        feeds[FeedSource.EASYPOST] = EasyPostFeed(secret)
    secret = settings.webhook_secret(FeedSource.AFTERSHIP)
    if secret:
        feeds[FeedSource.AFTERSHIP] = AfterShipFeed(secret)
    secret = settings.webhook_secret(FeedSource.PAGERDUTY)
    if secret:
        feeds[FeedSource.PAGERDUTY] = PagerDutyFeed(secret, component_map=settings.pagerduty_component_map)
    token = settings.webhook_token(FeedSource.STATUSPAGE)
    if token:
        feeds[FeedSource.STATUSPAGE] = StatuspageFeed(token, component_map=settings.statuspage_component_map)
    token = settings.webhook_token(FeedSource.ALERTMANAGER)
    if token:
        feeds[FeedSource.ALERTMANAGER] = AlertmanagerFeed(
            token,
            component_labels=settings.alertmanager_component_labels.split(","),
            component_map=settings.alertmanager_component_map,
        )
    return feeds
