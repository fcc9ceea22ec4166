"""POST /webhooks/{source} is answered by the raw-ASGI fast path, and a sender cannot tell it from the route:
the same statuses, problem bodies and headers for every kind of delivery; everything else still goes to
the router."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Route
from support import builders

from engine.api.app import create_app
from engine.api.webhook_fast_path import WebhookFastPath
from engine.clock import SimulatedClock
from engine.runtime import Runtime
from integrations.feeds import build_feeds

Delivery = tuple[str, bytes, dict[str, str]]


@contextmanager
def serving(rt: Runtime, *, fast: bool) -> Iterator[TestClient]:
    app = create_app(rt, feeds=build_feeds(rt.settings))
    if not fast:  # the app as it was: every webhook through routing, middleware and the route
        app.user_middleware = [m for m in app.user_middleware if m.cls is not WebhookFastPath]
    with TestClient(app) as client:
        yield client


def answer(client: TestClient, delivery: Delivery) -> tuple[int, dict[str, str], Any]:
    path, body, headers = delivery
    response = client.post(path, content=body, headers=headers)
    kept = ("content-type", "retry-after", "x-content-type-options", "x-frame-options", "referrer-policy")
    return response.status_code, {k: v for k, v in response.headers.items() if k in kept}, response.json()


def new_event(clock: SimulatedClock) -> Delivery:
    return ("/webhooks/events", *builders.signed(builders.customer_upserted(clock.now()), now=clock.now()))


def tampered(clock: SimulatedClock) -> Delivery:
    path, body, headers = new_event(clock)
    return path, body + b" ", headers


def malformed(clock: SimulatedClock) -> Delivery:
    return ("/webhooks/events", *builders.signed(b'{"id": "x", "type": "order.created"', now=clock.now()))


def too_large(clock: SimulatedClock) -> Delivery:
    big = builders.customer_upserted(clock.now(), name="x" * (1024 * 1024))
    return ("/webhooks/events", *builders.signed(big, now=clock.now()))


def unknown_source(clock: SimulatedClock) -> Delivery:
    _, body, headers = new_event(clock)
    return "/webhooks/nope", body, headers


def unconfigured(clock: SimulatedClock) -> Delivery:
    _, body, headers = new_event(clock)
    return "/webhooks/statuspage?token=wrong", body, headers


@pytest.mark.parametrize("make", [new_event, tampered, malformed, too_large, unknown_source, unconfigured])
def test_every_answer_is_the_one_the_route_gives(
    rt: Runtime, clock: SimulatedClock, make: Callable[[SimulatedClock], Delivery]
) -> None:
    with serving(rt, fast=True) as fast, serving(rt, fast=False) as routed:
        via_fast, via_route = answer(fast, make(clock)), answer(routed, make(clock))
    assert via_fast == via_route
    assert via_fast[1]["x-content-type-options"] == "nosniff" and via_fast[1]["x-frame-options"] == "DENY"


def test_a_repeat_is_counted_the_same_either_way(rt: Runtime, clock: SimulatedClock) -> None:
    delivery = new_event(clock)
    with serving(rt, fast=True) as fast, serving(rt, fast=False) as routed:
        assert answer(fast, delivery)[2] == {"accepted": 1, "duplicates": 0}
        assert answer(routed, delivery)[2] == answer(fast, delivery)[2] == {"accepted": 0, "duplicates": 1}


def test_webhooks_do_not_need_the_router_and_everything_else_still_reaches_it(
    rt: Runtime, clock: SimulatedClock
) -> None:
    with serving(rt, fast=True) as client:
        wrong_method = client.get("/webhooks/events")  # not a POST: the router's answer, naming what it takes
        assert wrong_method.status_code == 405 and "POST" in wrong_method.headers["allow"]
        assert client.post("/webhooks/twilio/status", content=b"").status_code != 404  # a callback, routed
        app: Any = client.app
        app.router.routes[:] = [
            r for r in app.router.routes if not (isinstance(r, Route) and r.path == "/webhooks/{source}")
        ]
        assert answer(client, new_event(clock))[0] == 202
