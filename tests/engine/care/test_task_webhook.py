"""The helpdesk hears of care tasks: a signed Standard Webhooks POST from a dramatiq job after the commit,
retried when the helpdesk answers 503, verified on the raw bytes by a real HTTP server started here."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient
from support import builders
from support.pipeline import drain, post

from engine.clock import SimulatedClock
from engine.config import Settings
from engine.links.build import status_url
from engine.links.tokens import Page
from engine.runtime import Runtime
from engine.vocabulary import Job
from engine.wiring import HANDLERS, BrokerDispatcher, InProcessWorker, install_runtime
from integrations.feeds.standard_webhooks import verify

HELPDESK_SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()


@dataclass
class Helpdesk:
    """A helpdesk endpoint: answers the first `fail_first` requests 503, then 204; keeps what it received."""

    fail_first: int = 1
    received: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    url: str = ""

    def wait_for(self, accepted: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while sum(1 for *_, status in self.received if status == 204) < accepted:
            assert time.monotonic() < deadline, f"helpdesk received {[s for *_, s in self.received]}"
            time.sleep(0.05)


@pytest.fixture
def helpdesk() -> Iterator[Helpdesk]:
    desk = Helpdesk()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            status = 503 if len(desk.received) < desk.fail_first else 204
            desk.received.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    desk.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/forewarn"
    yield desk
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(settings: Settings, helpdesk: Helpdesk) -> Settings:
    return settings.model_copy(update={"task_webhook_url": helpdesk.url, "task_webhook_secret": HELPDESK_SECRET})


@pytest.fixture
def worker(rt: Runtime) -> Iterator[None]:
    """Only the webhook job goes through the broker; the test drains events and deliveries itself."""
    broker = StubBroker()
    rt.dispatcher = BrokerDispatcher(broker, {Job.CARE_TASK_WEBHOOK: HANDLERS[Job.CARE_TASK_WEBHOOK]}, queue="care")
    install_runtime(rt)
    worker = InProcessWorker(broker, threads=1)
    worker.start()
    yield
    worker.stop()


def verified(helpdesk: Helpdesk, clock: SimulatedClock, index: int) -> dict[str, Any]:
    headers, body, _ = helpdesk.received[index]
    verify(HELPDESK_SECRET, headers, body, now=clock.now(), tolerance=timedelta(minutes=5))
    return dict(json.loads(body))


def test_a_lost_parcel_reaches_the_helpdesk_signed_retried_and_closed(
    client: TestClient, rt: Runtime, clock: SimulatedClock, helpdesk: Helpdesk, worker: None
) -> None:
    t = clock.now()
    post(
        client,
        clock,
        builders.customer_upserted(t - timedelta(days=5)),
        builders.order_created(t - timedelta(days=2), order_id="W1"),
        builders.shipment(t - timedelta(days=1), "in_transit", order_id="W1"),
        builders.shipment(t, "exception", order_id="W1", exception="lost"),
    )
    drain(rt)
    helpdesk.wait_for(accepted=1)

    assert [status for *_, status in helpdesk.received] == [503, 204]  # refused once, then retried
    first, retry = helpdesk.received
    assert first[0]["webhook-id"] == retry[0]["webhook-id"]  # the same message, so a helpdesk can dedupe
    opened = verified(helpdesk, clock, 1)
    assert opened["type"] == "care_task.opened"
    page = status_url(rt.settings.public_url, rt.settings.secret_key, Page.ORDER, "W1")
    assert opened["data"] == {
        "id": opened["data"]["id"],
        "kind": "shipment.exception",
        "reason": "lost",
        "status": "open",
        "order_id": "W1",
        "customer_id": "C1",
        "status_page": page,
        "opened_at": opened["data"]["opened_at"],
        "closed_at": None,
    }
    raw = b"".join(body for _, body, _ in helpdesk.received)
    for personal in (b"Ana", b"Souza", b"ana@example.com", b"+5511987654321"):
        assert personal not in raw

    clock.advance(timedelta(days=1))
    post(client, clock, builders.shipment(clock.now(), "delivered", order_id="W1"))
    drain(rt)
    helpdesk.wait_for(accepted=2)
    closed = verified(helpdesk, clock, 2)
    assert closed["type"] == "care_task.closed"
    assert closed["data"]["id"] == opened["data"]["id"] and closed["data"]["status"] == "closed"
