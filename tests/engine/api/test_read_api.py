"""GET /api/*: the token guards it; filters narrow what staff see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from support import builders
from support.pipeline import drain

from engine.clock import SimulatedClock
from engine.runtime import Runtime

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
def story(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    t = clock.now()
    events = [
        builders.customer_upserted(t - timedelta(days=2)),
        builders.customer_upserted(
            t - timedelta(days=2), cid="C2", name="Sam Carter", email="sam@example.com", channels=["email"]
        ),
        builders.order_created(t - timedelta(days=1)),
        builders.order_created(t - timedelta(days=1), order_id="B2002", customer_id="C2"),
        builders.shipment(t, "exception", exception="address"),
        builders.shipment(t, "in_transit", order_id="B2002"),
    ]
    body, headers = builders.signed(events, now=t)
    assert client.post("/webhooks/events", content=body, headers=headers).status_code == 202
    drain(rt)


@pytest.mark.parametrize("path", ["/api/events", "/api/notices", "/api/situations", "/api/audit"])
def test_api_needs_the_bearer_token(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get(path, headers=AUTH).status_code == 200


@pytest.mark.usefixtures("story")
def test_filters_narrow_the_lists(client: TestClient) -> None:
    events = client.get("/api/events", headers=AUTH, params={"order_id": "B2002"}).json()["items"]
    assert {e["type"] for e in events} == {"order.created", "shipment.updated"}
    notices = client.get("/api/notices", headers=AUTH, params={"customer_id": "C1"}).json()["items"]
    assert {(n["channel"], n["status"]) for n in notices} == {("email", "sent"), ("sms", "sent")}
    assert client.get("/api/notices", headers=AUTH, params={"customer_id": "C2"}).json()["items"] == []
    sms = client.get("/api/notices", headers=AUTH, params={"channel": "sms"}).json()["items"]
    assert len(sms) == 1 and sms[0]["recipient"] == "+5511987654321"
    situations = client.get(
        "/api/situations", headers=AUTH, params={"situation": "shipment.exception", "status": "open"}
    ).json()["items"]
    assert [s["order_id"] for s in situations] == ["A1001"]
    sent = client.get("/api/audit", headers=AUTH, params={"action": "notice.sent"}).json()["items"]
    assert len(sent) == 2


@pytest.mark.usefixtures("story")
def test_cursor_pages_through_everything_once(client: TestClient) -> None:
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/events", headers=AUTH, params=params).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == list(range(1, 7))


@pytest.mark.usefixtures("story")
def test_since_filters_by_time_and_rejects_garbage(client: TestClient, clock: SimulatedClock) -> None:
    later = (clock.now() + timedelta(hours=1)).isoformat()
    assert client.get("/api/notices", headers=AUTH, params={"since": later}).json()["items"] == []
    response = client.get("/api/notices", headers=AUTH, params={"since": "last tuesday"})
    assert response.status_code == 400 and "RFC 3339" in response.json()["detail"]


def test_healthz_metrics_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "broker": "in-process"}
    assert "forewarn_events_unhandled 0" in client.get("/metrics").text
    assert client.get("/docs").status_code == 200
    assert "/webhooks/{source}" in client.get("/openapi.json").json()["paths"]
