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


# No feed nests anywhere near this deep; a body that does is an attack or a bug, and deeper values break
# serialisers further down (pydantic refuses past ~255 levels).
MAX_DEPTH = 64


def _depth(value: object) -> int:
    """How deeply lists and objects nest in a decoded JSON value (iteratively: no recursion to exhaust)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = list(item)
        else:
            continue
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            return level
        stack.extend((child, level + 1) for child in children)
    return deepest


def decode_json(body: bytes) -> object:
    try:
        value = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidEvent("body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InvalidEvent(f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InvalidEvent("body is not valid JSON: nested too deeply") from None
    except ValueError:  # Python refuses integers of more than 4,300 digits (a denial-of-service guard)
        raise InvalidEvent("body is not valid JSON for us: a number has too many digits") from None
    if _depth(value) > MAX_DEPTH:
        raise InvalidEvent(f"body is nested more than {MAX_DEPTH} levels deep")
    if b"\\u" in body:
        # JSON may escape half of a UTF-16 surrogate pair ("\\ud800") that is no character at all:
        # it decodes, but can be neither hashed nor stored, so it is refused here.
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidEvent("body is not valid JSON: a \\u escape is an unpaired UTF-16 surrogate") from None
    return value
