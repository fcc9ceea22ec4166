"""EasyPost: the official HMAC test vector, tracker events onto `shipment.updated`, scans out of order."""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from support import paths
from support.pipeline import drain

from engine.clock import SimulatedClock
from engine.errors import InvalidEvent, SignatureError
from engine.inbound.feed import WebhookRequest
from engine.models import InboundEvent
from engine.runtime import Runtime
from integrations.feeds.easypost import EasyPostFeed

PAYLOADS = paths.PAYLOADS
VECTOR = json.loads((PAYLOADS / "easypost_hmac_test_vector.json").read_text())["webhooks"]
SECRET = VECTOR["secret"]  # "sécret": also the `settings` fixture's FOREWARN_WEBHOOK_SECRET_EASYPOST
NOW = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)


def fixture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / "easypost_tracker_updated_fixture.json").read_text())
    return data


def compact(data: Any) -> bytes:
    """How the vector says the fixture is serialised before signing (easypost-python's tests do the same)."""
    return json.dumps(data, separators=(",", ":")).encode()


def sign(body: bytes, secret: str = SECRET) -> str:
    key = unicodedata.normalize("NFKD", secret).encode()
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def request(body: bytes | dict[str, Any], signature: str | None = None) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else compact(body)
    headers = {"x-hmac-signature": signature if signature is not None else sign(raw)}
    return WebhookRequest(headers=headers, query={}, body=raw, received_at=NOW)


def shipment_of(data: dict[str, Any]) -> dict[str, Any]:
    (event,) = EasyPostFeed(SECRET).parse(request(data))
    dumped: dict[str, Any] = event.model_dump(mode="json", exclude_none=True)
    return dumped


def test_official_test_vector_verifies() -> None:
    body = compact(fixture())
    feed = EasyPostFeed(SECRET)
    feed.verify(request(body, VECTOR["hmac_signature"]))
    with pytest.raises(SignatureError, match="does not match"):
        feed.verify(request(body + b" ", VECTOR["hmac_signature"]))
    with pytest.raises(SignatureError, match="does not match"):
        EasyPostFeed("secret").verify(request(body, VECTOR["hmac_signature"]))  # not NFKD-equal to "sécret"
    with pytest.raises(SignatureError, match="missing"):
        feed.verify(WebhookRequest(headers={}, query={}, body=body, received_at=NOW))
    with pytest.raises(SignatureError, match="must start with"):
        feed.verify(request(body, VECTOR["hmac_signature"].split("=", 1)[1]))


def test_nfkd_normalisation_makes_composed_and_decomposed_secrets_equal() -> None:
    body = compact(fixture())
    EasyPostFeed("se\u0301cret").verify(request(body, VECTOR["hmac_signature"]))


def test_real_fixture_maps_to_in_transit_with_the_newest_scan() -> None:
    event = shipment_of(fixture())
    assert event["id"] == "easypost:evt_1" and event["type"] == "shipment.updated"
    assert event["occurred_at"] == "2024-08-02T18:50:00Z"  # the newest tracking detail
    assert event["shipment"] == {
        "order_id": "tracking:1",  # a bare tracker names no order
        "carrier": "FedEx",
        "tracking_number": "1",
        "status": "in_transit",
        "estimated_delivery_at": "2024-08-05T12:00:00Z",  # a date-only estimate, as midday UTC
        "location": "EDISON, NJ, US",
        "message": "Arrived at FedEx location",
        "tracking_url": "https://track.easypost.com/1",  # the tracker's public_url
    }


def test_tracking_details_out_of_order_still_pick_the_newest() -> None:
    data = fixture()
    details = data["result"]["tracking_details"]
    data["result"]["tracking_details"] = [details[3], details[6], details[0], details[5], details[1]]
    event = shipment_of(data)
    assert event["occurred_at"] == "2024-08-02T18:50:00Z" and event["shipment"]["location"] == "EDISON, NJ, US"


def test_order_reference_and_metadata_win_over_the_tracking_code() -> None:
    data = fixture()
    data["result"]["reference"] = "A1001"
    assert shipment_of(data)["shipment"]["order_id"] == "A1001"
    data["result"]["reference"] = None
    data["result"]["metadata"] = {"order_id": 820982911946154500}
    assert shipment_of(data)["shipment"]["order_id"] == "820982911946154500"


@pytest.mark.parametrize(
    ("status", "detail", "expected", "exception"),
    [
        ("pre_transit", "label_created", "label_created", None),
        ("out_for_delivery", "out_for_delivery", "out_for_delivery", None),
        ("available_for_pickup", "arrived_at_pickup_location", "out_for_delivery", None),
        ("delivered", "arrived_at_destination", "delivered", None),
        ("return_to_sender", "return", "returned", None),
        ("failure", "address_not_found", "exception", "address"),
        ("failure", "weather_delay", "exception", "weather"),
        ("failure", "customs_hold", "exception", "customs"),
        ("failure", "damaged", "exception", "damaged"),
        ("failure", "lost", "lost", None),
        ("error", "unknown", "exception", "other"),
        ("cancelled", "cancelled", "exception", "other"),
    ],
)
def test_status_mapping(status: str, detail: str, expected: str, exception: str | None) -> None:
    data = fixture()
    data["result"].update(status=status, status_detail=detail)
    shipment = shipment_of(data)["shipment"]
    assert shipment["status"] == expected and shipment.get("exception") == exception


def test_unknown_status_and_other_event_kinds_make_no_event() -> None:
    data = fixture()
    data["result"]["status"] = "unknown"
    assert EasyPostFeed(SECRET).parse(request(data)) == []
    assert EasyPostFeed(SECRET).parse(request({"object": "Event", "id": "evt_2", "description": "batch.created"})) == []


def test_missing_optional_fields_fall_back_sensibly() -> None:
    data = fixture()
    for field in ("tracking_details", "est_delivery_date", "carrier", "carrier_detail", "status_detail"):
        data["result"].pop(field)
    event = shipment_of(data)
    assert event["occurred_at"] == "2024-08-02T19:26:51Z"  # the tracker's updated_at
    assert event["shipment"] == {
        "order_id": "tracking:1",
        "carrier": "",
        "tracking_number": "1",
        "status": "in_transit",
        "tracking_url": "https://track.easypost.com/1",
    }
    data["result"].pop("updated_at")
    assert shipment_of(data)["occurred_at"] == "2024-08-02T19:26:52Z"  # the event's created_at


def test_a_precise_estimate_is_kept_as_is() -> None:
    data = fixture()
    data["result"]["est_delivery_date"] = "2024-08-05T17:30:00-04:00"
    assert shipment_of(data)["shipment"]["estimated_delivery_at"] == "2024-08-05T21:30:00Z"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b'"tracker.updated"', "JSON object"),
        (b'{"object": "Event", "id": "evt_3"}', "event.description"),
        (b'{"description": "tracker.updated", "result": {}}', "event.id"),
        (b'{"description": "tracker.updated", "id": "e", "result": []}', "event.result"),
        (b'{"description": "tracker.updated", "id": "e", "result": {"object": "Shipment"}}', "Tracker"),
        (b'{"description": "tracker.updated", "id": "e", "result": {"status": "in_transit"}}', "tracking_code"),
        (b'{"description": "tracker.updated", "id": "e", "result": {"tracking_code": "1"}}', "status"),
    ],
)
def test_malformed_input_says_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        EasyPostFeed(SECRET).parse(request(body))


def count(rt: Runtime) -> int:
    with Session(rt.db) as session:
        return session.exec(select(func.count()).select_from(InboundEvent)).one()


def test_http_signed_fixture_is_stored_once(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    body = compact(fixture())
    headers = {"X-Hmac-Signature": VECTOR["hmac_signature"], "Content-Type": "application/json"}
    first = client.post("/webhooks/easypost", content=body, headers=headers)
    assert first.status_code == 202 and first.json() == {"accepted": 1, "duplicates": 0}
    again = client.post("/webhooks/easypost", content=body, headers=headers)
    assert again.status_code == 202 and again.json() == {"accepted": 0, "duplicates": 1}
    bad = client.post("/webhooks/easypost", content=body, headers={"X-Hmac-Signature": sign(body, "nope")})
    assert bad.status_code == 401
    garbage = b"{{{"
    response = client.post("/webhooks/easypost", content=garbage, headers={"X-Hmac-Signature": sign(garbage)})
    assert response.status_code == 400
    assert count(rt) == 1
    drain(rt)  # a bare tracker's scan is recorded against an order the engine does not know
    with Session(rt.db) as session:
        assert session.exec(select(InboundEvent.outcome)).one().startswith("waiting: order")
    clock.advance(timedelta(days=1, minutes=1))  # the order never came: stop waiting for it
    drain(rt)
    with Session(rt.db) as session:
        assert session.exec(select(InboundEvent.outcome)).one() == "ignored: unknown order"


def delivered_later(data: dict[str, Any]) -> dict[str, Any]:
    """The same tracker event id as EasyPost really sends it again once the parcel is delivered: the
    tracker's status and newest detail change, the event's id does not."""
    later = json.loads(json.dumps(data))
    tracker = later["result"]
    newest = dict(tracker["tracking_details"][-1])
    newest.update(
        status="delivered",
        status_detail="arrived_at_destination",
        datetime="2024-08-03T15:10:00Z",
        message="Delivered",
        description="Delivered",
    )
    tracker["tracking_details"].append(newest)
    tracker["status"] = "delivered"
    later["previous_attributes"] = {"status": "in_transit"}
    return later


def test_a_reused_event_id_with_new_content_is_a_new_event(client: TestClient, rt: Runtime) -> None:
    first, second = compact(fixture()), compact(delivered_later(fixture()))
    assert json.loads(first)["id"] == json.loads(second)["id"]

    def post(body: bytes) -> dict[str, int]:
        headers = {"X-Hmac-Signature": sign(body), "Content-Type": "application/json"}
        response = client.post("/webhooks/easypost", content=body, headers=headers)
        assert response.status_code == 202
        answer: dict[str, int] = response.json()
        return answer

    assert post(first) == {"accepted": 1, "duplicates": 0}
    assert post(second) == {"accepted": 1, "duplicates": 0}  # delivered: newer state, not a repeat
    assert post(second) == {"accepted": 0, "duplicates": 1}  # the very same delivery again is
    assert post(first) == {"accepted": 0, "duplicates": 1}
    with Session(rt.db) as session:
        statuses = sorted(row.payload["shipment"]["status"] for row in session.exec(select(InboundEvent)).all())
    assert statuses == ["delivered", "in_transit"]
