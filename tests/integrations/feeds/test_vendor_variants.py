"""Real vendor payloads beyond the shared samples, posted through the app: what a user would then see.

Fixtures are in tests/fixtures/vendor (sources in its README) and tests/fixtures/payloads.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import unicodedata
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from support import builders, paths
from support.pipeline import drain, feed

from engine.clock import SimulatedClock
from engine.models import Component, InboundEvent, Incident, Order, Shipment
from engine.runtime import Runtime

FIXTURES = paths.FIXTURES
IGNORED = {"accepted": 0, "duplicates": 0}


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def body_of(data: Any) -> bytes:
    return json.dumps(data).encode()


def post_statuspage(client: TestClient, data: Any) -> Any:
    return client.post("/webhooks/statuspage?token=statuspage-test-token", content=body_of(data))


def post_alertmanager(client: TestClient, data: Any) -> Any:
    headers = {"Authorization": "Bearer alertmanager-test-token"}
    return client.post("/webhooks/alertmanager", content=body_of(data), headers=headers)


def post_pagerduty(client: TestClient, data: Any) -> Any:
    raw = body_of(data)
    signature = "v1=" + hmac.new(b"pagerduty-test-secret", raw, hashlib.sha256).hexdigest()
    return client.post("/webhooks/pagerduty", content=raw, headers={"X-PagerDuty-Signature": signature})


def post_aftership(client: TestClient, data: Any) -> Any:
    raw = body_of(data)
    mac = base64.b64encode(hmac.new(b"aftership-test-secret", raw, hashlib.sha256).digest()).decode()
    return client.post("/webhooks/aftership", content=raw, headers={"aftership-hmac-sha256": mac})


def post_easypost(client: TestClient, data: Any) -> Any:
    raw = body_of(data)
    key = unicodedata.normalize("NFKD", "sécret").encode()
    signature = "hmac-sha256-hex=" + hmac.new(key, raw, hashlib.sha256).hexdigest()
    return client.post("/webhooks/easypost", content=raw, headers={"X-Hmac-Signature": signature})


def post_shopify(client: TestClient, topic: str, data: Any, delivery: str) -> Any:
    raw = body_of(data)
    mac = base64.b64encode(hmac.new(b"shopify-test-secret", raw, hashlib.sha256).digest()).decode()
    headers = {"X-Shopify-Hmac-Sha256": mac, "X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": delivery}
    return client.post("/webhooks/shopify", content=raw, headers=headers)


def component(rt: Runtime, name: str) -> Component:
    with Session(rt.db) as session:
        found = session.get(Component, name)
        assert found is not None, f"no component {name!r}"
        return found


# Statuspage ---------------------------------------------------------------------------------------------


def test_statuspage_incident_then_its_resolution_even_out_of_order(client: TestClient, rt: Runtime) -> None:
    identified = load("payloads/statuspage_incident_created_identified.json")
    identified["incident"]["components"][0]["status"] = "major_outage"  # as an incident normally marks it
    resolved = load("vendor/statuspage_incident_resolved.json")
    # Delivered the wrong way round: the resolution first, the older "identified" update late.
    assert post_statuspage(client, resolved).json() == {"accepted": 1, "duplicates": 0}
    assert post_statuspage(client, identified).json() == {"accepted": 1, "duplicates": 0}
    assert post_statuspage(client, resolved).json() == {"accepted": 0, "duplicates": 1}  # redelivery
    drain(rt)
    assert component(rt, "management-portal-example").status == "operational"  # the late update is stale
    with Session(rt.db) as session:
        incident = session.get(Incident, "z3lct0r596n4")
        assert incident is not None and incident.message == "The database issue is resolved."


def test_statuspage_component_update(client: TestClient, rt: Runtime) -> None:
    data = load("vendor/statuspage_component_update.json")
    assert post_statuspage(client, data).json() == {"accepted": 1, "duplicates": 0}
    back = copy.deepcopy(data)  # the same component back to normal, a later update
    back["component_update"].update(
        id="k7730b5v92bv", old_status="under_maintenance", new_status="operational", created_at="2017-12-26T09:00:00Z"
    )
    back["component"]["status"] = "operational"
    back.pop("page")  # the page summary is optional
    assert post_statuspage(client, back).json() == {"accepted": 1, "duplicates": 0}
    drain(rt)
    assert component(rt, "database-component").status == "operational"
    page_only = {"meta": data["meta"], "page": data["page"]}
    response = post_statuspage(client, page_only)
    assert response.status_code == 400 and "neither 'incident' nor 'component_update'" in response.json()["detail"]


# Alertmanager -------------------------------------------------------------------------------------------


def test_alertmanager_alert_without_a_component_label_is_accepted_and_ignored(client: TestClient) -> None:
    response = post_alertmanager(client, load("payloads/alertmanager_v4_firing.json"))
    assert response.status_code == 202 and response.json() == IGNORED


def test_alertmanager_firing_then_resolved_without_an_end_time(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    firing = load("payloads/alertmanager_v4_firing.json")
    resolved = load("vendor/alertmanager_v4_single_resolved.json")
    for data in (firing, resolved):
        for alert in data["alerts"]:
            alert["labels"]["service"] = "checkout"
    assert post_alertmanager(client, firing).json()["accepted"] >= 1
    drain(rt)
    assert component(rt, "checkout").status == "major_outage"  # severity critical
    # The real sample resolves with endsAt still 0001-01-01: the resolution is news as of its arrival,
    # so a repeat of the old firing notification cannot undo it.
    assert post_alertmanager(client, resolved).json() == {"accepted": 1, "duplicates": 0}
    drain(rt)
    assert component(rt, "checkout").status == "operational"
    assert post_alertmanager(client, firing).json()["accepted"] == 0  # Alertmanager's repeat: a duplicate
    drain(rt)
    assert component(rt, "checkout").status == "operational"
    # The same alert on another component, its deliveries crossing: the resolution arrives first and the
    # retried firing notification after it. Dated at startsAt, the resolution would tie with the firing
    # and the late firing would put the component back down.
    firing["alerts"] = firing["alerts"][:1]
    for data in (firing, resolved):
        for alert in data["alerts"]:
            alert["labels"]["service"] = "search"
            alert["fingerprint"] = "b2cd59586c31f84e"
    assert post_alertmanager(client, resolved).json() == {"accepted": 1, "duplicates": 0}
    assert post_alertmanager(client, firing).json() == {"accepted": 1, "duplicates": 0}
    drain(rt)
    assert component(rt, "search").status == "operational"


def test_alertmanager_older_payload_without_fingerprint_version_or_truncated_alerts(
    client: TestClient, rt: Runtime
) -> None:
    data = load("payloads/alertmanager_v4_firing.json")
    for key in ("version", "truncatedAlerts", "groupKey"):
        data.pop(key, None)
    for alert in data["alerts"]:
        alert.pop("fingerprint", None)
        alert["labels"]["component"] = "search"
        alert["labels"]["severity"] = "warning"
    assert post_alertmanager(client, data).json()["accepted"] >= 1
    drain(rt)
    assert component(rt, "search").status == "degraded_performance"


# PagerDuty ----------------------------------------------------------------------------------------------


def test_pagerduty_lifecycle_and_ignored_event_types(client: TestClient, rt: Runtime) -> None:
    triggered = load("payloads/pagerduty_v3_incident_triggered.json")  # service pig208, high urgency
    assert post_pagerduty(client, triggered).json() == {"accepted": 1, "duplicates": 0}
    drain(rt)
    assert component(rt, "pig208").status == "major_outage"
    resolved = load("vendor/pagerduty_v3_incident_resolved.json")  # another incident, 19 minutes earlier
    assert post_pagerduty(client, resolved).json()["accepted"] == 1
    drain(rt)
    assert component(rt, "pig208").status == "major_outage"  # older news does not undo newer
    resolved["event"].update(id="01BZYH1JJY09P9LEIST8HG2PMO", occurred_at="2021-06-04T14:02:11.000Z")
    resolved["event"]["data"]["id"] = triggered["event"]["data"]["id"]  # now this incident is resolved
    assert post_pagerduty(client, resolved).json()["accepted"] == 1
    drain(rt)
    assert component(rt, "pig208").status == "operational"
    reopened = load("vendor/pagerduty_v3_incident_reopened.json")  # low urgency, "Default Service"
    assert post_pagerduty(client, reopened).json() == {"accepted": 1, "duplicates": 0}
    drain(rt)
    assert component(rt, "default-service").status == "partial_outage"
    # Event types that change nothing a customer experiences: read, answered 2xx, nothing stored.
    ignored = [
        load("vendor/pagerduty_v3_incident_annotated.json"),
        load("vendor/pagerduty_v3_incident_priority_updated.json"),
    ]
    for event_type in ("incident.acknowledged", "incident.escalated", "incident.reassigned"):
        variant = copy.deepcopy(triggered)
        variant["event"].update(event_type=event_type, id=f"01{event_type}")
        ignored.append(variant)
    ping = {  # the shape of PagerDuty's test delivery
        "event": {
            "id": "01DQ4MP6ZSH6XTQ5WDZB1JIO4E",
            "event_type": "pagey.ping",
            "resource_type": "pagey",
            "occurred_at": "2021-12-08T22:54:17.456Z",
            "agent": None,
            "client": None,
            "data": {"message": "Hello from your friend Pagey!", "type": "ping"},
        }
    }
    service_updated = {
        "event": {
            "id": "01DQ4MP6ZSH6XTQ5WDZB1JIO4F",
            "event_type": "service.updated",
            "resource_type": "service",
            "occurred_at": "2021-12-08T22:54:17.456Z",
            "agent": None,
            "client": None,
            "data": {"id": "PA2P440", "type": "service", "summary": "pig208", "status": "disabled"},
        }
    }
    for data in [*ignored, ping, service_updated]:
        response = post_pagerduty(client, data)
        assert response.status_code == 202 and response.json() == IGNORED, data["event"]["event_type"]
    drain(rt)
    assert component(rt, "default-service").status == "partial_outage"


def test_pagerduty_v2_webhook_is_refused_saying_why(client: TestClient) -> None:
    # The shape of zulip/zulip's pagerduty/fixtures/trigger_v2.json, shortened.
    v2 = {
        "messages": [
            {
                "event": "incident.trigger",
                "log_entries": [],
                "webhook": {"endpoint_url": "https://example.com/webhooks/pagerduty"},
                "incident": {"id": "PRORDTY", "incident_number": 33, "title": "My new incident"},
                "id": "2e32a8e4-0b3a-11e8-9ad2-22000a1ea8ce",
                "created_on": "2018-02-06T20:37:45Z",
            }
        ]
    }
    response = post_pagerduty(client, v2)
    assert response.status_code == 400 and "v3" in response.json()["detail"]


# AfterShip and EasyPost ---------------------------------------------------------------------------------


def test_aftership_exception_with_out_of_order_checkpoints_updates_the_order(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    at = datetime(2021, 1, 2, 9, 0, tzinfo=UTC)
    feed(rt, builders.customer_upserted(at), builders.order_created(at, order_id="#1001"))
    data = load("vendor/aftership_tracking_update_exception.json")  # order_id null: order_number is used
    assert post_aftership(client, data).json() == {"accepted": 1, "duplicates": 0}
    drain(rt)
    with Session(rt.db) as session:
        shipment = session.exec(select(Shipment).where(col(Shipment.order_id) == "#1001")).one()
        assert (shipment.status, shipment.exception) == ("exception", "address")
        assert shipment.location == "FORT WORTH, TX, USA"  # the newest checkpoint, though listed first
        assert shipment.estimated_delivery_at is not None
        assert shipment.estimated_delivery_at.replace(tzinfo=UTC) == datetime(2021, 1, 8, 12, 0, tzinfo=UTC)
    # A revised estimate written carrier-local without an offset, one of AfterShip's documented formats.
    revise = copy.deepcopy(data)  # the same tracking, its checkpoints unchanged, a new estimate
    revise.update(event="edd_revise", event_id="c0f4a4a9-7a0e-4d8e-8a53-5f0b1e3a9d21", ts=1610010000)
    revise["msg"]["latest_estimated_delivery"] = {"type": "specific", "datetime": "2021-01-11T18:00:00"}
    assert post_aftership(client, revise).json() == {"accepted": 1, "duplicates": 0}
    drain(rt)
    with Session(rt.db) as session:
        shipment = session.exec(select(Shipment).where(col(Shipment.order_id) == "#1001")).one()
        assert shipment.estimated_delivery_at is not None
        assert shipment.estimated_delivery_at.replace(tzinfo=UTC) == datetime(2021, 1, 11, 12, 0, tzinfo=UTC)
    revise = load("vendor/aftership_edd_revise.json")  # for an order no one knows: waits, then ignored
    assert post_aftership(client, revise).json() == {"accepted": 1, "duplicates": 0}
    pending = {"event": "tracking_pending_time", "event_id": "0d9", "msg": {"tracking_number": "1"}, "ts": 1}
    assert post_aftership(client, pending).json() == IGNORED


def test_easypost_tracker_created_without_details_or_estimate(client: TestClient, rt: Runtime) -> None:
    at = datetime(2024, 8, 1, 9, 0, tzinfo=UTC)
    feed(rt, builders.customer_upserted(at), builders.order_created(at, order_id="A1001"))
    data = load("payloads/easypost_tracker_updated_fixture.json")
    data.update(description="tracker.created", id="evt_created_1", previous_attributes={})
    tracker = data["result"]
    tracker.update(status="pre_transit", est_delivery_date=None, tracking_details=[], reference="A1001")
    assert post_easypost(client, data).json() == {"accepted": 1, "duplicates": 0}
    drain(rt)
    with Session(rt.db) as session:
        shipment = session.exec(select(Shipment).where(col(Shipment.order_id) == "A1001")).one()
        assert shipment.status == "label_created" and shipment.estimated_delivery_at is None
    unknown = copy.deepcopy(data)
    unknown["id"], unknown["result"]["status"] = "evt_unknown", "unknown"
    assert post_easypost(client, unknown).json() == IGNORED
    batch = {"object": "Event", "id": "evt_batch", "description": "batch.created", "result": {"object": "Batch"}}
    assert post_easypost(client, batch).json() == IGNORED


# Shopify ------------------------------------------------------------------------------------------------


def test_shopify_order_cancelled_after_create(client: TestClient, rt: Runtime) -> None:
    created = load("payloads/shopify_orders_create.json")
    created["cancelled_at"] = None  # a live order; the documentation example is already cancelled
    assert post_shopify(client, "orders/create", created, "d1").json() == {"accepted": 2, "duplicates": 0}
    cancelled = load("vendor/shopify_orders_cancelled.json")
    assert post_shopify(client, "orders/cancelled", cancelled, "d2").json() == {"accepted": 1, "duplicates": 0}
    assert post_shopify(client, "orders/cancelled", cancelled, "d2").json() == {"accepted": 0, "duplicates": 1}
    drain(rt)
    with Session(rt.db) as session:
        order = session.get(Order, str(created["id"]))
        assert order is not None and order.canceled_at is not None
        outcomes = session.exec(select(InboundEvent.outcome)).all()
        assert all(outcome and not outcome.startswith("rejected") for outcome in outcomes), outcomes


def test_easypost_scans_out_of_order_and_redelivered(client: TestClient, rt: Runtime) -> None:
    at = datetime(2024, 8, 1, 9, 0, tzinfo=UTC)
    feed(rt, builders.customer_upserted(at), builders.order_created(at, order_id="A1001"))
    in_transit = load("payloads/easypost_tracker_updated_fixture.json")  # newest detail 2024-08-02T18:50Z
    in_transit["result"]["reference"] = "A1001"
    delivered = copy.deepcopy(in_transit)
    delivered["id"] = "evt_delivered"
    delivered["result"].update(status="delivered", status_detail="arrived_at_destination")
    newest = copy.deepcopy(delivered["result"]["tracking_details"][-1])
    newest.update(datetime="2024-08-05T15:02:00Z", message="Delivered", status="delivered")
    # Details in no particular order, as EasyPost does not promise one: the newest goes first here.
    delivered["result"]["tracking_details"].insert(0, newest)
    assert post_easypost(client, delivered).json() == {"accepted": 1, "duplicates": 0}
    assert post_easypost(client, in_transit).json() == {"accepted": 1, "duplicates": 0}  # older, arrives late
    assert post_easypost(client, delivered).json() == {"accepted": 0, "duplicates": 1}  # a retry
    drain(rt)
    with Session(rt.db) as session:
        shipment = session.exec(select(Shipment).where(col(Shipment.order_id) == "A1001")).one()
        assert shipment.status == "delivered" and shipment.message == "Delivered"


def test_shopify_fulfillment_then_carrier_events_out_of_order(client: TestClient, rt: Runtime) -> None:
    created = load("payloads/shopify_orders_create.json")
    created["cancelled_at"] = None
    assert post_shopify(client, "orders/create", created, "o1").status_code == 202
    fulfillment = load("payloads/shopify_fulfillments_update.json")
    fulfillment.update(order_id=created["id"], shipment_status=None)  # just created: no carrier news yet
    assert post_shopify(client, "fulfillments/create", fulfillment, "f1").json()["accepted"] == 1
    moving = load("payloads/shopify_fulfillment_events_create.json")  # in_transit, estimate null
    moving["order_id"] = created["id"]
    late = copy.deepcopy(moving)  # an older "confirmed" event delivered after it
    late.update(id=1234566, status="confirmed", happened_at="2021-12-31T18:00:00-05:00", message=None)
    assert post_shopify(client, "fulfillment_events/create", moving, "e1").json()["accepted"] == 1
    assert post_shopify(client, "fulfillment_events/create", late, "e0").json()["accepted"] == 1
    drain(rt)
    with Session(rt.db) as session:
        shipments = session.exec(select(Shipment).where(col(Shipment.order_id) == str(created["id"]))).all()
        assert [s.status for s in shipments] == ["in_transit"]
        assert shipments[0].message == "Item is now in transit"
