"""PagerDuty v3: `v1=` HMAC signatures (several while rotating), incident events onto `service.status`."""

from __future__ import annotations

import hashlib
import hmac
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
from integrations.feeds.pagerduty import PagerDutyFeed

PAYLOADS = paths.PAYLOADS
SECRET = "pagerduty-test-secret"  # the `settings` fixture's FOREWARN_WEBHOOK_SECRET_PAGERDUTY
NOW = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)


def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / "pagerduty_v3_incident_triggered.json").read_text())
    return data


def sign(body: bytes, secret: str = SECRET) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def request(body: bytes | dict[str, Any], signature: str | None = None) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"x-pagerduty-signature": signature if signature is not None else sign(raw)}
    return WebhookRequest(headers=headers, query={}, body=raw, received_at=NOW)


def events(data: dict[str, Any], feed: PagerDutyFeed | None = None) -> list[dict[str, Any]]:
    parsed = (feed or PagerDutyFeed(SECRET)).parse(request(data))
    return [event.model_dump(mode="json", exclude_none=True) for event in parsed]


def test_real_triggered_sample() -> None:
    (event,) = events(sample())
    assert event == {
        "id": "pagerduty:01BZYIL05THJDFF2Y08X9SVMTU",
        "type": "service.status",
        "occurred_at": "2021-06-04T13:35:29.781000Z",
        "service": {
            "component": "pig208",
            "status": "major_outage",  # urgency high
            "incident_id": "pd:PFQZPSY",
            "title": "Test Incident 3",
        },
    }


@pytest.mark.parametrize(
    ("event_type", "urgency", "status"),
    [
        ("incident.triggered", "low", "partial_outage"),
        ("incident.reopened", "high", "major_outage"),
        ("incident.resolved", "high", "operational"),
    ],
)
def test_event_type_mapping(event_type: str, urgency: str, status: str) -> None:
    data = sample()
    data["event"]["event_type"] = event_type
    data["event"]["data"]["urgency"] = urgency
    (event,) = events(data)
    assert event["service"]["status"] == status and event["service"]["incident_id"] == "pd:PFQZPSY"


@pytest.mark.parametrize(
    "event_type",
    ["incident.acknowledged", "incident.priority_updated", "incident.annotated", "pagey.ping", "service.updated"],
)
def test_events_that_change_nothing_for_customers_make_no_event(event_type: str) -> None:
    data = sample()
    data["event"]["event_type"] = event_type
    assert events(data) == []


def test_component_from_map_by_summary_or_id_else_the_hyphenated_summary() -> None:
    data = sample()
    data["event"]["data"]["service"]["summary"] = "Checkout API (prod)"
    assert events(data)[0]["service"]["component"] == "checkout-api-prod"
    feed = PagerDutyFeed(SECRET, component_map={"Checkout API (prod)": "checkout"})
    assert events(data, feed)[0]["service"]["component"] == "checkout"
    feed = PagerDutyFeed(SECRET, component_map={"PA2P440": "storefront"})
    assert events(data, feed)[0]["service"]["component"] == "storefront"


def test_missing_optional_fields() -> None:
    data = sample()
    for field in ("urgency", "priority", "title", "assignees", "escalation_policy", "teams"):
        data["event"]["data"].pop(field)
    data["event"]["data"]["service"].pop("summary")
    data["event"].pop("agent")
    (event,) = events(data)
    assert event["service"] == {
        "component": "PA2P440",
        "status": "partial_outage",
        "incident_id": "pd:PFQZPSY",
        "title": "",
    }


def test_signatures_any_of_several_during_rotation() -> None:
    body = json.dumps(sample()).encode()
    feed = PagerDutyFeed(SECRET)
    feed.verify(request(body))
    feed.verify(request(body, f"{sign(body, 'old-secret')},{sign(body)}"))
    feed.verify(request(body, f"{sign(body)}, {sign(body, 'new-secret')}"))
    with pytest.raises(SignatureError, match="does not match"):
        feed.verify(request(body, f"{sign(body, 'old-secret')},{sign(body, 'new-secret')}"))
    with pytest.raises(SignatureError, match="does not match"):
        feed.verify(request(body, sign(body).removeprefix("v1=")))
    with pytest.raises(SignatureError, match="does not match"):
        feed.verify(request(body + b" ", sign(body)))
    with pytest.raises(SignatureError, match="missing"):
        feed.verify(WebhookRequest(headers={}, query={}, body=body, received_at=NOW))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xff", "UTF-8"),
        (b"[]", "JSON object"),
        (b'{"messages": []}', "body.event"),
        (b'{"event": {"id": "e"}}', "event.event_type"),
        (b'{"event": {"event_type": "incident.triggered", "occurred_at": "2021-06-04T13:35:29Z"}}', "event.id"),
        (b'{"event": {"id": "e", "event_type": "incident.triggered"}}', "event.data"),
        (b'{"event": {"id": "e", "event_type": "incident.resolved", "data": {"service": {}}}}', "event.data.id"),
        (b'{"event": {"id": "e", "event_type": "incident.resolved", "data": {"id": "P1"}}}', "event.data.service"),
        (
            b'{"event": {"id": "e", "event_type": "incident.resolved", "occurred_at": "soon",'
            b' "data": {"id": "P1", "service": {"id": "S"}}}}',
            "event.occurred_at",
        ),
    ],
)
def test_malformed_input_says_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        PagerDutyFeed(SECRET).parse(request(body))


def count(rt: Runtime) -> int:
    with Session(rt.db) as session:
        return session.exec(select(func.count()).select_from(InboundEvent)).one()


def test_http_signed_sample_is_stored_once(client: TestClient, rt: Runtime) -> None:
    body = (PAYLOADS / "pagerduty_v3_incident_triggered.json").read_bytes()
    headers = {"X-PagerDuty-Signature": f"{sign(body, 'rotated-out')},{sign(body)}"}
    first = client.post("/webhooks/pagerduty", content=body, headers=headers)
    assert first.status_code == 202 and first.json() == {"accepted": 1, "duplicates": 0}
    again = client.post("/webhooks/pagerduty", content=body, headers=headers)
    assert again.status_code == 202 and again.json() == {"accepted": 0, "duplicates": 1}
    bad = client.post("/webhooks/pagerduty", content=body, headers={"X-PagerDuty-Signature": sign(body, "x")})
    assert bad.status_code == 401
    garbage = b'{"event": []}'
    response = client.post("/webhooks/pagerduty", content=garbage, headers={"X-PagerDuty-Signature": sign(garbage)})
    assert response.status_code == 400 and "event" in response.json()["detail"]
    assert count(rt) == 1
    drain(rt)
    with Session(rt.db) as session:
        component = session.get(Component, "pig208")
        assert component is not None and component.status == "major_outage"
        incident = session.get(Incident, "pd:PFQZPSY")
        assert incident is not None and incident.components == ["pig208"]
