"""A webhook delivery: verify the raw bytes, parse, then store every event or none."""

from __future__ import annotations

from collections.abc import Mapping

from engine.clock import parse_duration
from engine.errors import SignatureError
from engine.inbound.feed import Feed, WebhookRequest
from engine.inbound.service import StoreResult, store_events
from engine.runtime import Runtime
from engine.vocabulary import FeedSource


def receive(rt: Runtime, feeds: Mapping[FeedSource, Feed], source: FeedSource, request: WebhookRequest) -> StoreResult:
    """SignatureError → 401, InvalidEvent → 400; nothing is written unless the whole request is good."""
    feed = feeds.get(source)
    if feed is None:
        raise SignatureError(f"the {source} feed is not enabled (set its FOREWARN_WEBHOOK_* secret)")
    feed.verify(request)
    events = feed.parse(request)
    with rt.unit_of_work() as session:
        return store_events(
            session,
            source=source,
            events=events,
            received_at=request.received_at,
            relay_after=parse_duration(rt.settings.relay_after),
        )
