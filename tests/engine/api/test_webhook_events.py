"""POST /webhooks/events: Standard Webhooks signatures, store-once, and clear answers for bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select
from support import builders
from support.paths import PAYLOADS

from engine.clock import SimulatedClock
from engine.errors import SignatureError
from engine.models import AuditEntry, InboundEvent
from engine.runtime import Runtime
from integrations.feeds import standard_webhooks

VECTOR = json.loads((PAYLOADS / "standard_webhooks_test_vector.json").read_text())


def count(rt: Runtime, model: type) -> int:
    with Session(rt.db) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_reference_vector_verifies_and_a_changed_body_does_not() -> None:
    headers = {k: VECTOR[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    now = datetime.fromtimestamp(int(VECTOR["webhook-timestamp"]), UTC)
    body = VECTOR["body"].encode()
    standard_webhooks.verify(VECTOR["secret"], headers, body, now=now, tolerance=timedelta(minutes=5))
    with pytest.raises(SignatureError):
        standard_webhooks.verify(VECTOR["secret"], headers, body + b" ", now=now, tolerance=timedelta(minutes=5))
    with pytest.raises(SignatureError, match="tolerance"):
        standard_webhooks.verify(
            VECTOR["secret"], headers, body, now=now + timedelta(minutes=6), tolerance=timedelta(minutes=5)
        )


def test_accepts_once_and_a_repeat_delivery_changes_nothing(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    event = builders.customer_upserted(clock.now())
    body, headers = builders.signed(event, now=clock.now())
    first = client.post("/webhooks/events", content=body, headers=headers)
    assert first.status_code == 202 and first.json() == {"accepted": 1, "duplicates": 0}
    body, headers = builders.signed(event, now=clock.now())
    again = client.post("/webhooks/events", content=body, headers=headers)
    assert again.status_code == 202 and again.json() == {"accepted": 0, "duplicates": 1}
    assert count(rt, InboundEvent) == 1
    with Session(rt.db) as session:
        actions = session.exec(select(AuditEntry.action).where(AuditEntry.action == "event.accepted")).all()
    assert len(actions) == 1


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda h: h.pop("webhook-signature"), "missing"),
        (lambda h: h.update({"webhook-signature": "v1,AAAA"}), "does not match"),
        (lambda h: h.update({"webhook-timestamp": str(int(h["webhook-timestamp"]) - 301)}), "tolerance"),
    ],
)
def test_bad_or_missing_signature_is_401_and_writes_nothing(
    client: TestClient, rt: Runtime, clock: SimulatedClock, tamper, message: str
) -> None:
    body, headers = builders.signed(builders.customer_upserted(clock.now()), now=clock.now())
    tamper(headers)
    audit_before = count(rt, AuditEntry)
    response = client.post("/webhooks/events", content=body, headers=headers)
    assert response.status_code == 401
    assert message in response.json()["detail"]
    assert count(rt, InboundEvent) == 0 and count(rt, AuditEntry) == audit_before


def test_rotated_secrets_any_matching_signature_is_enough(client: TestClient, clock: SimulatedClock) -> None:
    body, headers = builders.signed(builders.customer_upserted(clock.now()), now=clock.now())
    headers["webhook-signature"] = "v1,bm90LXRoaXMtb25l " + headers["webhook-signature"]
    assert client.post("/webhooks/events", content=body, headers=headers).status_code == 202


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "empty"),
        (
            json.dumps(
                {
                    "id": "e1",
                    "type": "shipment.updated",
                    "occurred_at": "2026-03-03T10:00:00Z",
                    "shipment": {"order_id": "A1", "status": "teleported"},
                }
            ).encode(),
            "shipment.status",
        ),
        (
            json.dumps(
                {
                    "id": "e1",
                    "type": "order.created",
                    "occurred_at": "2026-03-03T10:00:00Z",
                    "order": {"id": "A1", "customer": {"id": "C1"}},
                }
            ).encode(),
            "promised_by",
        ),
        (
            json.dumps({"id": "e1", "type": "teleport", "occurred_at": "2026-03-03T10:00:00Z"}).encode(),
            "type",
        ),
        (
            json.dumps(
                {
                    "id": "e1",
                    "type": "service.status",
                    "occurred_at": "yesterday",
                    "service": {"component": "checkout", "status": "major_outage"},
                }
            ).encode(),
            "occurred_at",
        ),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_malformed_body_is_400_saying_what_is_wrong(
    client: TestClient, rt: Runtime, clock: SimulatedClock, payload: bytes, expected: str
) -> None:
    body, headers = builders.signed(payload, now=clock.now())
    response = client.post("/webhooks/events", content=body, headers=headers)
    assert response.status_code == 400
    assert expected in response.json()["detail"]
    assert count(rt, InboundEvent) == 0


def test_one_bad_event_in_a_list_rejects_the_whole_request(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    good = builders.customer_upserted(clock.now())
    bad = {"id": "x", "type": "order.created", "occurred_at": "2026-03-03T10:00:00Z"}
    body, headers = builders.signed([good, bad], now=clock.now())
    response = client.post("/webhooks/events", content=body, headers=headers)
    assert response.status_code == 400 and "event #1" in response.json()["detail"]
    assert count(rt, InboundEvent) == 0


def test_body_over_one_mebibyte_is_413(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    big = builders.customer_upserted(clock.now(), name="x" * (1024 * 1024))
    body, headers = builders.signed(big, now=clock.now())
    response = client.post("/webhooks/events", content=body, headers=headers)
    assert response.status_code == 413
    assert count(rt, InboundEvent) == 0


def test_unconfigured_source_is_401_and_unknown_source_404(client: TestClient, clock: SimulatedClock) -> None:
    body, headers = builders.signed(builders.customer_upserted(clock.now()), now=clock.now())
    assert client.post("/webhooks/shopify", content=body, headers=headers).status_code == 401
    assert client.post("/webhooks/nope", content=body, headers=headers).status_code == 404


def test_unknown_fields_are_kept(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    event = builders.customer_upserted(clock.now())
    event["x-vendor"] = {"batch": 7}
    body, headers = builders.signed(event, now=clock.now())
    assert client.post("/webhooks/events", content=body, headers=headers).status_code == 202
    with Session(rt.db) as session:
        stored = session.exec(select(InboundEvent).order_by(col(InboundEvent.id))).one()
    assert stored.payload["x-vendor"] == {"batch": 7}


@pytest.mark.parametrize(
    "event",
    [
        {"type": "customer.upserted", "customer": {"id": "C" * 129}},
        {
            "type": "order.created",
            "order": {"id": "A" * 129, "customer": {"id": "C1"}, "promised_by": "2026-03-09T00:00:00Z"},
        },
        {"type": "shipment.updated", "shipment": {"order_id": "A1", "status": "in_transit", "carrier": "x" * 65}},
        {"type": "service.status", "service": {"component": "c" * 129, "status": "major_outage"}},
    ],
)
def test_oversized_ids_are_400_not_a_database_error(
    client: TestClient, rt: Runtime, clock: SimulatedClock, event: dict
) -> None:
    body, headers = builders.signed({"id": "e1", "occurred_at": "2026-03-03T10:00:00Z", **event}, now=clock.now())
    response = client.post("/webhooks/events", content=body, headers=headers)
    assert response.status_code == 400 and "at most" in response.json()["detail"]
    assert count(rt, InboundEvent) == 0


def test_long_free_text_is_kept_short_not_refused(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    from support.pipeline import drain

    t = clock.now()
    events = [
        builders.customer_upserted(t),
        builders.order_created(t),
        builders.shipment(t, "in_transit", location="Hub " + "x" * 400, message="m" * 900),
        {
            "id": "s1",
            "type": "service.status",
            "occurred_at": t.isoformat(),
            "service": {"component": "checkout", "status": "major_outage", "incident_id": "I1", "title": "t" * 400},
        },
    ]
    body, headers = builders.signed(events, now=t)
    assert client.post("/webhooks/events", content=body, headers=headers).status_code == 202
    drain(rt)
    handled = client.get("/api/events", headers={"Authorization": "Bearer test-token"}).json()["items"]
    assert {e["outcome"] for e in handled} == {"applied"}
