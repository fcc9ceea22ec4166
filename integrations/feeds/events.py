"""Forewarn's canonical JSON feed (DESIGN §3), signed per Standard Webhooks."""

from __future__ import annotations

import json

from engine.errors import InvalidEvent
from engine.events.schema import CanonicalEvent, parse_events
from engine.inbound.feed import WebhookRequest
from engine.vocabulary import FeedSource
from integrations.feeds import standard_webhooks


class CanonicalEventsFeed:
    source = FeedSource.EVENTS

    def __init__(self, secret: str, *, tolerance_seconds: float = 300.0) -> None:
        standard_webhooks.secret_bytes(secret)  # fail at start-up, not on the first request
        self._secret = secret
        self._tolerance = tolerance_seconds

    def verify(self, request: WebhookRequest) -> None:
        from datetime import timedelta

        standard_webhooks.verify(
            self._secret,
            request.headers,
            request.body,
            now=request.received_at,
            tolerance=timedelta(seconds=self._tolerance),
        )

    def parse(self, request: WebhookRequest) -> list[CanonicalEvent]:
        return parse_events(decode_json(request.body))


def decode_json(body: bytes) -> object:
    try:
        value = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidEvent("body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InvalidEvent(f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InvalidEvent("body is not valid JSON: nested too deeply") from None
    if b"\\u" in body:
        # JSON may escape half of a UTF-16 surrogate pair ("\\ud800") that is no character at all:
        # it decodes, but can be neither hashed nor stored, so it is refused here.
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidEvent("body is not valid JSON: a \\u escape is an unpaired UTF-16 surrogate") from None
    return value
