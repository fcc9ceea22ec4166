"""GET /api/incidents: how far telling an incident's customers has got (told, waiting for their morning,
thanked); GET /api/approvals/{id}: who a held fan-out would reach, by channel and language, and the
message rendered for the cases most likely to go wrong."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import builders
from support.outage_story import AUTH, ops_client, run_for, status
from support.pipeline import feed

from engine.clock import SimulatedClock
from engine.runtime import Runtime


@pytest.fixture
def api(rt: Runtime) -> Iterator[TestClient]:
    with ops_client(rt) as client:
        yield client


def follower(rt: Runtime, cid: str, component: str, **fields: Any) -> None:
    defaults = {"email": f"{cid.lower()}@example.com", "phone": None, "channels": ["email"]}
    feed(rt, builders.customer_upserted(rt.clock.now(), cid=cid, components=[component], **{**defaults, **fields}))


def test_an_incident_counts_customers_told_waiting_and_thanked(
    api: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    follower(rt, "C1", "checkout")
    follower(rt, "C2", "checkout", phone="+14155550100", channels=["email", "sms"])
    follower(rt, "C3", "checkout", email=None, phone="+819012345678", channels=["sms"], timezone="Asia/Tokyo")
    follower(rt, "C4", "search")
    status(rt, "checkout", "major_outage", title="Checkout is down")
    run_for(rt, clock, timedelta(minutes=15))  # 18:15 UTC: 03:15 in Tokyo

    [live] = api.get("/api/incidents", headers=AUTH).json()["items"]

    assert (live["id"], live["components"], live["live"]) == ("INC-7", ["checkout"], True)
    assert live["customers"] == {
        "affected": 3,
        "told": 2,
        "waiting": {"quiet_hours": 1, "daily_limit": 0, "approval": 0},
        "thanked": 0,
        "not_sent": 0,
        "declined": 0,
    }

    status(rt, "checkout", "operational")
    run_for(rt, clock, timedelta(minutes=2))

    body = api.get("/api/incidents", headers=AUTH).json()
    [over] = body["items"]
    assert over["live"] is False and over["resolved_at"] is not None
    assert over["customers"]["thanked"] == 2 and over["customers"]["told"] == 2
    assert over["customers"]["waiting"]["quiet_hours"] == 0 and over["customers"]["not_sent"] == 1
    assert body["pause"]["paused"] is False
    assert api.get("/api/incidents/INC-7", headers=AUTH).json() == over
    assert api.get("/api/incidents/INC-404", headers=AUTH).status_code == 404


def test_a_held_fan_out_shows_its_audience_and_worst_case_samples(
    api: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    rt.settings = rt.settings.model_copy(update={"fanout_approval": 2})
    component = "Cartão"  # a name outside GSM-7: every text about it needs UCS-2
    follower(rt, "C1", component, name="Ana Souza")
    follower(rt, "C2", component, name="Maria Silva", locale="pt-BR", timezone="America/Sao_Paulo")
    follower(rt, "C3", component, name="Bartholomew Alexander Featherstonehaugh-Cholmondeley")
    follower(rt, "C4", component, name="Sam Lee", email=None, phone="+14155550101", channels=["sms"])
    status(rt, component, "major_outage", title="Card payments are down")
    run_for(rt, clock, timedelta(minutes=15))
    [pending] = api.get("/api/approvals", headers=AUTH, params={"status": "pending"}).json()["items"]

    review = api.get(f"/api/approvals/{pending['id']}", headers=AUTH).json()

    assert review["status"] == "pending" and review["recipients"] == 4
    assert review["audience"]["followers"] == 4 and review["audience"]["unreachable"] == 0
    assert review["audience"]["by_channel"] == {"email": 3, "sms": 1}
    assert review["audience"]["by_locale"] == {"en": 3, "pt-BR": 1}
    chosen = [(s["why"], s["customer_id"], s["channel"]) for s in review["samples"]]
    assert chosen == [
        (["locale en"], "C1", "email"),
        (["locale pt-BR"], "C2", "email"),
        (["longest name"], "C3", "email"),
        (["a UCS-2 text"], "C4", "sms"),
    ]
    en, pt, longest, text = review["samples"]
    assert en["text"].startswith("Hi Ana") and "Cartão" in en["text"]
    assert pt["locale"] == "pt-BR" and pt["text"] != en["text"] and "Maria" in pt["text"]
    assert "Bartholomew" in longest["text"]
    # What the fan-out would send Sam: the component's name forces UCS-2, and the text still fits two
    # segments by giving up details before Sam's name.
    assert text["encoding"] == "UCS-2" and text["segments"] <= 2 and "error" not in text
    assert "Cartão" in text["sms"] and "Sam" in text["sms"]
    assert api.get("/api/approvals/999", headers=AUTH).status_code == 404
