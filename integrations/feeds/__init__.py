"""Inbound feed adapters, registered by source name for the webhook route."""

from __future__ import annotations

from engine.config import Settings
from engine.feeds import Feed
from integrations.feeds.events import CanonicalEventsFeed

KNOWN_SOURCES = ("shopify", "easypost", "aftership", "statuspage", "alertmanager", "pagerduty", "events")


def build_feeds(settings: Settings) -> dict[str, Feed]:
    """Feeds whose secret or token is configured; an unconfigured source answers 401."""
    feeds: dict[str, Feed] = {}
    secret = settings.webhook_secret("events")
    if secret:
        feeds["events"] = CanonicalEventsFeed(
            secret, tolerance_seconds=settings.webhook_tolerance_delta.total_seconds()
        )
    return feeds
