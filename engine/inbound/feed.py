"""The inbound feed interface: verify a webhook's raw bytes, then map its body onto canonical events.

Adapters live in `integrations/feeds/`; `integrations.feeds.build_feeds(settings)` registers them by
source name, and the webhook route looks them up here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from engine.events.schema import CanonicalEvent
from engine.vocabulary import FeedSource

MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class WebhookRequest:
    headers: Mapping[str, str]  # lower-cased names
    query: Mapping[str, str]
    body: bytes
    received_at: datetime


class Feed(Protocol):
    source: FeedSource

    def verify(self, request: WebhookRequest) -> None:
        """Raise SignatureError unless the request is authentic; look at raw bytes only."""
        ...

    def parse(self, request: WebhookRequest) -> list[CanonicalEvent]:
        """Map the body onto canonical events; raise InvalidEvent saying what is wrong."""
        ...
