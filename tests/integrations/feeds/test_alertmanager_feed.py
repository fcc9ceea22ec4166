"""Alertmanager: a token guards the unsigned webhook; each alert about a component is a `service.status`."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from support import paths
from support.pipeline import drain

from engine.config import Settings
from engine.errors import InvalidEvent, SignatureError
from engine.inbound.feed import WebhookRequest
from engine.models import Component, InboundEvent
from engine.runtime import Runtime
from integrations.feeds.alertmanager import AlertmanagerFeed

PAYLOADS = paths.PAYLOADS
TOKEN = "alertmanager-test-token"  # the `settings` fixture's FOREWARN_WEBHOOK_TOKEN_ALERTMANAGER
NOW = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
BY_HOST = AlertmanagerFeed(TOKEN, component_labels=("component", "host"))


def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / "alertmanager_v4_firing.json").read_text())
    return data


def request(body: bytes | dict[str, Any], *, query: dict[str, str] | None = None, **headers: str) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return WebhookRequest(
        headers=headers, query={"token": TOKEN} if query is None else query, body=raw, received_at=NOW
    )


def events(data: dict[str, Any], feed: AlertmanagerFeed = BY_HOST) -> list[dict[str, Any]]:
    return [event.model_dump(mode="json", exclude_none=True) for event in feed.parse(request(data))]


def resolved(data: dict[str, Any], index: int, ends: str = "2020-02-06T01:00:00Z") -> dict[str, Any]:
    data["alerts"][index].update(status="resolved", endsAt=ends)
    return data


def test_real_sample_parses_and_without_a_component_label_makes_no_event() -> None:
    assert events(sample(), AlertmanagerFeed(TOKEN)) == []  # labels: alertname, host, severity


def test_real_sample_with_host_as_the_component_label() -> None:
    first, second = events(sample())
    assert first["id"] == "alertmanager:a1bc48475b20e73d:firing:2020-02-06T00:17:58.432911Z"
    assert first["type"] == "service.status" and first["occurred_at"] == "2020-02-06T00:17:58.432911Z"
    assert first["service"] == {
        "component": "andromeda",
        "status": "major_outage",  # severity critical
        "incident_id": "am:a1bc48475b20e73d",
        "title": "High CPU core temperature",
        "message": "CPU core temperature is 34.75C",
    }
    assert second["service"]["incident_id"] == "am:c2ea85182f28cbd9"


def test_first_configured_label_wins_and_the_map_renames() -> None:
    data = sample()
    data["alerts"][0]["labels"].update(component="checkout-api", service="payments")
    feed = AlertmanagerFeed(
        TOKEN, component_labels=("component", "service"), component_map={"checkout-api": "checkout"}
    )
    (event,) = events(data, feed)  # the second alert has neither label: skipped
    assert event["service"]["component"] == "checkout"


@pytest.mark.parametrize(
    ("severity", "status"),
    [
        ("critical", "major_outage"),
        ("error", "partial_outage"),
        ("warning", "degraded_performance"),
        (None, "degraded_performance"),
    ],
)
def test_severity_mapping(severity: str | None, status: str) -> None:
    data = sample()
    for alert in data["alerts"]:
        alert["labels"].pop("severity")
        if severity:
            alert["labels"]["severity"] = severity
    assert {e["service"]["status"] for e in events(data)} == {status}


def test_resolved_alert_is_operational_at_its_end_and_a_distinct_event() -> None:
    data = resolved(resolved(sample(), 0), 1)
    data["status"] = "resolved"
    first, _ = events(data)
    assert first["service"]["status"] == "operational" and first["occurred_at"] == "2020-02-06T01:00:00Z"
    assert first["id"] == "alertmanager:a1bc48475b20e73d:resolved:2020-02-06T01:00:00Z"


def test_a_resolved_alert_does_not_clear_a_component_another_alert_keeps_firing() -> None:
    (event,) = events(resolved(sample(), 0))
    assert event["service"]["status"] == "major_outage" and event["service"]["incident_id"] == "am:c2ea85182f28cbd9"


def test_older_payloads_without_fingerprint_version_or_annotations() -> None:
    data = sample()
    for field in ("version", "groupKey", "commonLabels", "truncatedAlerts"):
        data.pop(field, None)
    for alert in data["alerts"]:
        for field in ("fingerprint", "annotations", "generatorURL", "status"):
            alert.pop(field)
    first, second = events(data)
    assert first["id"] == events(data)[0]["id"]  # stable: derived from the labels
    assert first["service"]["incident_id"] == second["service"]["incident_id"]  # same labels, same alert
    assert first["service"]["title"] == "High CPU Temperature" and "message" not in first["service"]
    assert first["service"]["status"] == "major_outage"  # status from the group


def test_token_in_query_or_bearer_header() -> None:
    body = json.dumps(sample()).encode()
    BY_HOST.verify(request(body))
    BY_HOST.verify(request(body, query={}, authorization=f"Bearer {TOKEN}"))
    with pytest.raises(SignatureError, match="does not match"):
        BY_HOST.verify(request(body, query={"token": TOKEN + "x"}))
    with pytest.raises(SignatureError, match="missing token"):
        BY_HOST.verify(request(body, query={}))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"firing!", "not valid JSON"),
        (b"[]", "JSON object"),
        (b'{"version": "3", "alerts": []}', "version"),
        (b'{"version": "4"}', "alerts"),
        (b'{"version": "4", "alerts": ["x"]}', r"alerts\[0\]"),
        (b'{"alerts": [{"status": "pending", "labels": {"host": "a"}}]}', r"alerts\[0\].status"),
    ],
)
def test_malformed_input_says_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        BY_HOST.parse(request(body))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings, with the sample's `host` label naming the component."""
    return settings.model_copy(update={"alertmanager_component_labels": "component,host"})


def count(rt: Runtime) -> int:
    with Session(rt.db) as session:
        return session.exec(select(func.count()).select_from(InboundEvent)).one()


def test_http_sample_is_stored_once_and_resolution_is_new(client: TestClient, rt: Runtime) -> None:
    body = (PAYLOADS / "alertmanager_v4_firing.json").read_bytes()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    first = client.post("/webhooks/alertmanager", content=body, headers=auth)
    assert first.status_code == 202 and first.json() == {"accepted": 2, "duplicates": 0}
    again = client.post(f"/webhooks/alertmanager?token={TOKEN}", content=body)  # repeat_interval resend
    assert again.status_code == 202 and again.json() == {"accepted": 0, "duplicates": 2}
    done = resolved(resolved(copy.deepcopy(sample()), 0), 1)
    later = client.post("/webhooks/alertmanager", content=json.dumps(done).encode(), headers=auth)
    assert later.status_code == 202 and later.json() == {"accepted": 2, "duplicates": 0}
    assert (
        client.post("/webhooks/alertmanager", content=body, headers={"Authorization": "Bearer no"}).status_code == 401
    )
    response = client.post("/webhooks/alertmanager", content=b'{"alerts": 7}', headers=auth)
    assert response.status_code == 400 and "alerts" in response.json()["detail"]
    assert count(rt) == 4
    drain(rt)
    with Session(rt.db) as session:
        component = session.get(Component, "andromeda")
        assert component is not None and component.status == "operational" and component.down_since is None
