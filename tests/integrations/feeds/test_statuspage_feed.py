"""Statuspage: a token guards the unsigned webhook; incidents and component updates onto `service.status`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from support import paths
from support.pipeline import drain

from engine.errors import InvalidEvent, SignatureError
from engine.inbound.feed import WebhookRequest
from engine.models import Component, InboundEvent, Incident
from engine.runtime import Runtime
from integrations.feeds.statuspage import StatuspageFeed

PAYLOADS = paths.PAYLOADS
TOKEN = "statuspage-test-token"  # the `settings` fixture's FOREWARN_WEBHOOK_TOKEN_STATUSPAGE
NOW = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)


def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / "statuspage_incident_created_identified.json").read_text())
    return data


def request(body: bytes | dict[str, Any], *, query: dict[str, str] | None = None, **headers: str) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return WebhookRequest(
        headers=headers, query={"token": TOKEN} if query is None else query, body=raw, received_at=NOW
    )


def events(data: dict[str, Any], feed: StatuspageFeed | None = None) -> list[dict[str, Any]]:
    parsed = (feed or StatuspageFeed(TOKEN)).parse(request(data))
    return [event.model_dump(mode="json", exclude_none=True) for event in parsed]


def test_real_incident_sample() -> None:
    (event,) = events(sample())
    assert event["type"] == "service.status"
    assert event["id"].startswith("statuspage:z3lct0r596n4:qm8bgczn0p2n:")
    assert event["occurred_at"] == "2017-12-26T07:32:00.548000Z"
    assert event["service"] == {
        "component": "management-portal-example",
        "status": "operational",  # impact none and the component still shows operational
        "incident_id": "z3lct0r596n4",
        "title": "Database query delays",
        "message": (
            "We just encountered that database queries are timing out resulting in inconvenience to our end "
            "users...we'll do quick fix latest by tomorrow !!!"
        ),
    }


def test_component_status_passes_through_and_impact_raises_an_operational_one() -> None:
    data = sample()
    data["incident"]["components"][0]["status"] = "partial_outage"
    assert events(data)[0]["service"]["status"] == "partial_outage"
    data["incident"]["components"][0]["status"] = "operational"
    data["incident"]["impact"] = "critical"
    assert events(data)[0]["service"]["status"] == "major_outage"
    data["incident"]["impact"] = "minor"
    data["incident"]["components"][0]["status"] = "major_outage"
    assert events(data)[0]["service"]["status"] == "major_outage"  # never lowered by a milder impact


def test_resolution_and_maintenance() -> None:
    data = sample()
    data["incident"]["components"][0]["status"] = "major_outage"
    data["incident"]["incident_updates"].append(
        {
            "id": "later",
            "status": "resolved",
            "body": "Fixed.",
            "created_at": "2017-12-26T09:00:00.000Z",
            "display_at": "2017-12-26T09:00:00.000Z",
        }
    )
    for status in ("resolved", "postmortem"):
        data["incident"]["status"] = status
        (event,) = events(data)
        assert event["service"]["status"] == "operational" and event["service"]["message"] == "Fixed."
        assert event["occurred_at"] == "2017-12-26T09:00:00Z" and ":later:" in event["id"]
    data["incident"]["impact"] = "maintenance"
    for status, expected in (
        ("in_progress", "under_maintenance"),
        ("verifying", "under_maintenance"),
        ("completed", "operational"),
    ):
        data["incident"]["status"] = status
        assert events(data)[0]["service"]["status"] == expected
    data["incident"]["status"] = "scheduled"
    assert events(data) == []  # announced for later: nothing affected yet


def test_component_names_and_mapping() -> None:
    data = sample()
    data["incident"]["components"].append({"id": "abc", "name": "Checkout API", "status": "degraded_performance"})
    data["incident"]["components"].append({"id": "def", "name": "Café Wi-Fi", "status": "major_outage"})
    data["incident"]["components"].append({"id": "ghi", "name": "数据库", "status": "partial_outage"})
    feed = StatuspageFeed(TOKEN, component_map={"Checkout API": "checkout"})
    names = {e["service"]["component"]: e["service"]["status"] for e in events(data, feed)}
    assert names == {
        "management-portal-example": "operational",
        "checkout": "degraded_performance",
        "cafe-wi-fi": "major_outage",
        "ghi": "partial_outage",  # nothing readable left of the name: its id
    }
    feed = StatuspageFeed(TOKEN, component_map={"zvdm6f7gf76j": "portal"})
    assert events(sample(), feed)[0]["service"]["component"] == "portal"


def test_affected_components_of_the_latest_update_count_when_the_incident_lists_none() -> None:
    data = sample()
    data["incident"].pop("components")
    data["incident"]["incident_updates"][0]["affected_components"][0]["new_status"] = "partial_outage"
    (event,) = events(data)
    assert event["service"]["component"] == "management-portal-example"
    assert event["service"]["status"] == "partial_outage"


def test_incident_naming_no_component_goes_to_the_configured_page_component_or_nowhere() -> None:
    data = sample()
    data["incident"].pop("components")
    data["incident"]["incident_updates"][0].pop("affected_components")
    data["incident"]["impact"] = "major"
    assert events(data) == []
    (event,) = events(data, StatuspageFeed(TOKEN, component_map={"*": "storefront"}))
    assert event["service"]["component"] == "storefront" and event["service"]["status"] == "partial_outage"
    assert event["id"].endswith(":page")


def test_missing_optional_fields() -> None:
    data = sample()
    for field in ("incident_updates", "impact", "name", "updated_at"):
        data["incident"].pop(field)
    (event,) = events(data)
    assert event["occurred_at"] == "2017-12-26T07:32:00.507000Z"  # created_at
    assert event["service"]["title"] == "" and "message" not in event["service"]
    assert events(data)[0]["id"] == event["id"]  # stable without an update id too


def test_component_update() -> None:
    data = {
        "meta": {"unsubscribe": "http://statustest.flyingkleinbrothers.com:5000/?unsubscribe=j0vqr9kl3513"},
        "page": {"id": "j2mfxwj97wnj", "status_indicator": "major", "status_description": "Partial System Outage"},
        "component_update": {
            "created_at": "2013-05-29T21:32:28Z",
            "new_status": "major_outage",
            "old_status": "operational",
            "id": "k7730b5v92bv",
            "component_id": "rb5wq1dczvbm",
        },
        "component": {
            "created_at": "2013-05-29T21:32:28Z",
            "id": "rb5wq1dczvbm",
            "name": "Email Notifications",
            "status": "major_outage",
        },
    }
    (event,) = events(data)
    assert event["id"] == "statuspage:component:k7730b5v92bv" and event["occurred_at"] == "2013-05-29T21:32:28Z"
    assert event["service"] == {
        "component": "email-notifications",
        "status": "major_outage",
        "title": "Email Notifications",
    }


def test_token_in_query_or_bearer_header() -> None:
    body = json.dumps(sample()).encode()
    feed = StatuspageFeed(TOKEN)
    feed.verify(request(body))
    feed.verify(request(body, query={}, authorization=f"Bearer {TOKEN}"))
    with pytest.raises(SignatureError, match="does not match"):
        feed.verify(request(body, query={"token": "guess"}))
    with pytest.raises(SignatureError, match="does not match"):
        feed.verify(request(body, query={}, authorization="Bearer guess"))
    with pytest.raises(SignatureError, match="missing token"):
        feed.verify(request(body, query={}, authorization=f"Basic {TOKEN}"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not valid JSON"),
        (b"42", "JSON object"),
        (b'{"page": {}}', "neither 'incident' nor 'component_update'"),
        (b'{"incident": {"status": "identified"}}', "incident.id"),
        (b'{"incident": {"id": "x", "status": "melting"}}', "incident.status"),
        (b'{"component_update": {"new_status": "on_fire"}, "component": {"name": "API"}}', "new_status"),
        (b'{"component_update": {"new_status": "major_outage"}}', "component"),
    ],
)
def test_malformed_input_says_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        StatuspageFeed(TOKEN).parse(request(body))


def count(rt: Runtime) -> int:
    with Session(rt.db) as session:
        return session.exec(select(func.count()).select_from(InboundEvent)).one()


def test_http_sample_with_token_is_stored_once(client: TestClient, rt: Runtime) -> None:
    body = (PAYLOADS / "statuspage_incident_created_identified.json").read_bytes()
    first = client.post(f"/webhooks/statuspage?token={TOKEN}", content=body)
    assert first.status_code == 202 and first.json() == {"accepted": 1, "duplicates": 0}
    again = client.post("/webhooks/statuspage", content=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert again.status_code == 202 and again.json() == {"accepted": 0, "duplicates": 1}
    assert client.post("/webhooks/statuspage?token=wrong", content=body).status_code == 401
    assert client.post("/webhooks/statuspage", content=body).status_code == 401
    response = client.post(f"/webhooks/statuspage?token={TOKEN}", content=b'{"hello": "world"}')
    assert response.status_code == 400 and "Statuspage" in response.json()["detail"]
    assert count(rt) == 1
    drain(rt)
    with Session(rt.db) as session:
        component = session.get(Component, "management-portal-example")
        assert component is not None and component.status == "operational"
        incident = session.get(Incident, "z3lct0r596n4")
        assert incident is not None and incident.title == "Database query delays"
