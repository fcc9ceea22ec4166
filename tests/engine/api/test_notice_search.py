"""GET /api/notices: staff find notices by a customer's email or phone, an incident, a stage or a window
of time, a keyset page at a time; the filters it had before keep working (tests/engine/api/test_read_api.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import builders
from support.outage_story import run_for, status, subscribers
from support.pipeline import drain, post

from engine.clock import SimulatedClock, format_instant
from engine.runtime import Runtime

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
def start(client: TestClient, rt: Runtime, clock: SimulatedClock) -> datetime:
    """Ana's lamp (email and text) at the start, Sam's order an hour later, then an outage of checkout
    that two other customers hear about and are thanked for waiting through."""
    t = clock.now()
    post(
        client,
        clock,
        builders.customer_upserted(t - timedelta(days=3)),
        builders.customer_upserted(
            t - timedelta(days=3), cid="C2", name="Sam Carter", email="sam@example.com", phone=None, channels=["email"]
        ),
        builders.order_created(t - timedelta(days=2)),
        builders.order_created(t - timedelta(days=2), order_id="B2002", customer_id="C2"),
        builders.shipment(t, "exception", exception="address"),
    )
    drain(rt)
    clock.advance(timedelta(hours=1))
    post(client, clock, builders.shipment(clock.now(), "exception", order_id="B2002", exception="damaged"))
    drain(rt)
    clock.advance(timedelta(hours=1))
    subscribers(rt, "checkout", "C3", "C4")
    status(rt, "checkout", "major_outage")
    run_for(rt, clock, timedelta(minutes=15))
    status(rt, "checkout", "operational")
    run_for(rt, clock, timedelta(minutes=2))
    return t


def found(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/notices", headers=AUTH, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_an_email_or_a_phone_finds_every_notice_of_the_customer_who_has_it(client: TestClient, start: datetime) -> None:
    by_email = found(client, email="ANA@EXAMPLE.COM")
    assert {(n["customer_id"], n["channel"]) for n in by_email} == {("C1", "email"), ("C1", "sms")}
    # The outage's subscribers were given the builders' number too: a shared number finds them all.
    by_phone = found(client, phone="+55 11 98765-4321")
    assert {n["customer_id"] for n in by_phone} == {"C1", "C3", "C4"}
    assert {n["id"] for n in by_email} <= {n["id"] for n in by_phone}
    assert found(client, email="nobody@example.com") == []
    assert found(client, email="ana@example.co") == []  # exact, not a prefix


def test_an_incident_and_a_stage_narrow_to_its_thank_yous(client: TestClient, start: datetime) -> None:
    told = found(client, incident_id="INC-7")
    assert {(n["customer_id"], n["stage"]) for n in told} == {
        ("C3", "initial"),
        ("C4", "initial"),
        ("C3", "resolved"),
        ("C4", "resolved"),
    }
    thanked = found(client, incident_id="INC-7", stage="resolved", channel="email", status="sent")
    assert sorted(n["customer_id"] for n in thanked) == ["C3", "C4"]


def test_a_window_in_the_past_pages_through_its_notices_once_newest_first(client: TestClient, start: datetime) -> None:
    window = {
        "since": format_instant(start - timedelta(minutes=1)),
        "until": format_instant(start + timedelta(minutes=90)),
    }
    seen, cursor = [], None
    while True:
        response = client.get(
            "/api/notices", headers=AUTH, params={**window, "limit": 1, **({"cursor": cursor} if cursor else {})}
        )
        body = response.json()
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [(n["customer_id"], n["channel"]) for n in seen] == [("C2", "email"), ("C1", "sms"), ("C1", "email")]
    assert [n["created_at"] for n in seen] == sorted((n["created_at"] for n in seen), reverse=True)


def test_words_outside_the_vocabulary_and_bad_times_are_refused(client: TestClient) -> None:
    assert client.get("/api/notices", headers=AUTH, params={"status": "lost"}).status_code == 400
    response = client.get("/api/notices", headers=AUTH, params={"until": "tomorrow"})
    assert response.status_code == 400 and "until must be an RFC 3339 time" in response.json()["detail"]
