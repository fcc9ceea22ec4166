"""A webhook delivery's events: verify the raw bytes, then parse. The route stores them through
`engine.inbound.group_commit`, every event of a delivery or none."""

from __future__ import annotations

from collections.abc import Mapping

from engine.errors import SignatureError
from engine.events.schema import CanonicalEvent
from engine.inbound.feed import Feed, WebhookRequest
from engine.vocabulary import FeedSource


def verified_events(
    feeds: Mapping[FeedSource, Feed], source: FeedSource, request: WebhookRequest
) -> list[CanonicalEvent]:
    """The request's events once its signature is checked: SignatureError → 401, InvalidEvent → 400."""
    feed = feeds.get(source)
    if feed is None:
        raise SignatureError(f"the {source} feed is not enabled (set its FOREWARN_WEBHOOK_* secret)")
    feed.verify(request)
    return feed.parse(request)
