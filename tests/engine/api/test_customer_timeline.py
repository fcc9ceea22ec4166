"""GET /api/customers/{id}/timeline: one customer's story on one list, oldest first — their order and what
the carrier said, the outage they were caught in, each situation, every notice (sent, dropped, not sent
for an opt-out), their reply and their STOP; contact details masked unless revealed, and revealing audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from support import builders
from support.outage_story import run_for, status
from support.pipeline import drain, post
from support.stories import carrier_exception

from engine.clock import SimulatedClock
from engine.delivery.channel import InboundText
from engine.delivery.provider_status import receive_text
from engine.models import AuditEntry
from engine.runtime import Runtime

AUTH = {"Authorization": "Bearer test-token"}
PHONE = "+5511987654321"


def text_from_ana(rt: Runtime, body: str) -> None:
    with rt.unit_of_work() as session:
        receive_text(session, InboundText(sender=PHONE, body=body), at=rt.clock.now())


@pytest.fixture
def story(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    carrier_exception(client, rt, clock, components=["checkout"])
    clock.advance(timedelta(minutes=30))
    text_from_ana(rt, "Where is my lamp?")
    text_from_ana(rt, "STOP")
    clock.advance(timedelta(minutes=30))
    status(rt, "checkout", "major_outage")
    run_for(rt, clock, timedelta(minutes=15))
    post(client, clock, builders.shipment(clock.now(), "delivered"))
    drain(rt)


def timeline(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/customers/C1/timeline", headers=AUTH, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.usefixtures("story")
def test_the_whole_story_in_the_order_it_happened(client: TestClient) -> None:
    moments = timeline(client)["timeline"]
    kinds = [m["kind"] for m in moments]

    def first(kind: str, **details: object) -> int:
        return next(
            i
            for i, m in enumerate(moments)
            if m["kind"] == kind and all(m["details"].get(k) == v for k, v in details.items())
        )

    assert kinds[:2] == ["order_placed", "event"] and first("order_placed") < first("opened")
    assert [m["summary"].split(":")[0] for m in moments if m["kind"] == "event"][:3] == [
        "customer.upserted",
        "order.created",
        "shipment.updated",
    ]
    warned = first("notice", stage="initial", channel="email")
    assert first("opened") < warned < first("replied") < first("sms_opted_out") < first("incident_started")
    assert first("address_suppressed") < first("incident_started")
    [reply] = [m for m in moments if m["kind"] == "replied"]
    assert reply["details"]["text"] == "Where is my lamp?"
    assert moments[first("notice", stage="initial", channel="sms")]["details"]["state"] == "sent"
    outage_email = first("notice", situation="service.disruption", channel="email")
    assert moments[outage_email]["details"]["state"] == "sent"
    no_text = [m for m in moments if m["kind"] == "suppressed"]
    assert no_text and all("opted out" in m["summary"] for m in no_text)  # no more texts after the STOP
    assert first("resolved") < first("notice", stage="resolved", channel="email")
    assert [m["at"] for m in moments] == sorted(m["at"] for m in moments)


@pytest.mark.usefixtures("story")
def test_contact_details_are_masked_until_revealed_and_revealing_is_audited(client: TestClient, rt: Runtime) -> None:
    masked = timeline(client)
    assert (masked["customer"]["email"], masked["customer"]["phone"]) == ("a***@example.com", "+55******4321")
    assert masked["customer"]["suppressed"]["sms"].startswith("number opted out of SMS")
    recipients = {m["details"]["recipient"] for m in masked["timeline"] if m["kind"] == "notice"}
    assert recipients == {"a***@example.com", "+55******4321"}
    with Session(rt.db) as session:
        assert session.exec(select(AuditEntry).where(col(AuditEntry.action) == "contact.revealed")).all() == []

    shown = timeline(client, reveal=1)

    assert (shown["customer"]["email"], shown["customer"]["phone"]) == ("ana@example.com", PHONE)
    with Session(rt.db) as session:
        [entry] = session.exec(select(AuditEntry).where(col(AuditEntry.action) == "contact.revealed")).all()
    assert (entry.actor, entry.subject, entry.details["page"]) == ("staff:api", "customer:C1", "customer")
    assert "revealed" not in {m["kind"] for m in timeline(client)["timeline"]}  # staff reading is not her story


def test_an_unknown_customer_is_404(client: TestClient) -> None:
    assert client.get("/api/customers/nobody/timeline", headers=AUTH).status_code == 404
