"""GET /api/dashboard: the week at a glance — notices today and over 7 days by situation and channel,
delivery, failure and opt-out rates, the median warning-to-promise lead time, what is open now, and a
chart drawn on the server."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from support.fake_twilio import FakeTwilio
from support.stories import carrier_exception
from support.twilio_callbacks import with_twilio

from engine.clock import SimulatedClock
from engine.config import Settings
from engine.runtime import Runtime

AUTH = {"Authorization": "Bearer test-token"}
DAY = timedelta(days=1)


@pytest.fixture
def settings(settings: Settings, fake_twilio: FakeTwilio) -> Settings:
    return with_twilio(settings, fake_twilio)


@pytest.fixture
def week(client: TestClient, rt: Runtime, clock: SimulatedClock, fake_twilio: FakeTwilio) -> None:
    today = clock.now()
    clock.set(today - 2 * DAY)  # Sunday: Ana by email and text, 96 h before her promise
    carrier_exception(client, rt, clock, placed_ago=DAY, promised_in=5 * DAY)
    clock.set(today)  # Tuesday: Sam by email 48 h ahead; Carla 24 h ahead, whose number Twilio says opted out
    sam = {"email": "sam@example.com", "channels": ["email"]}
    carrier_exception(client, rt, clock, cid="C2", order_id="B2002", placed_ago=DAY, promised_in=3 * DAY, **sam)
    fake_twilio.unsubscribed_next()
    carla = {"email": "carla@example.com", "phone": "+14155550123"}
    carrier_exception(client, rt, clock, cid="C3", order_id="C3003", placed_ago=DAY, promised_in=2 * DAY, **carla)


@pytest.mark.usefixtures("week")
def test_the_week_in_numbers(client: TestClient) -> None:
    got = client.get("/api/dashboard", headers=AUTH).json()

    assert got["timezone"] == "UTC" and got["generated_at"] == "2026-03-03T18:00:00Z"
    today, week = got["notices"]["today"], got["notices"]["week"]
    assert today["total"] == 3 and today["by_channel"] == {"email": 2, "sms": 1}
    assert today["by_situation"] == {"shipment.exception": {"email": 2, "sms": 1}}
    assert today["by_status"] == {"failed": 1, "sent": 2}
    assert week["total"] == 5 and week["by_channel"] == {"email": 3, "sms": 2}
    assert [d["date"] for d in got["daily"]] == [
        f"2026-0{m}-{d:02d}" for m, d in ((2, 25), (2, 26), (2, 27), (2, 28), (3, 1), (3, 2), (3, 3))
    ]
    assert got["daily"][4] == {"date": "2026-03-01", "email": 1, "sms": 1}
    assert got["daily"][-1] == {"date": "2026-03-03", "email": 2, "sms": 1}
    assert got["rates"] == {
        "days": 7,
        "sent": 4,
        "failed": 1,
        "delivery_rate": 0.8,
        "failure_rate": 0.2,
        "opt_outs": 1,
        "customers_reached": 3,
        "opt_out_rate": 0.3333,
    }
    assert got["lead_time"] == {"orders_warned": 3, "median_hours": 48.0, "before_promise": 3}
    assert got["situations_open"] == {"total": 3, "by_kind": {"shipment.exception": 3}}


@pytest.mark.usefixtures("week")
def test_the_chart_is_an_accessible_svg_of_the_week(client: TestClient) -> None:
    svg = client.get("/api/dashboard", headers=AUTH).json()["chart_svg"]

    root = ElementTree.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg" and root.get("role") == "img"
    assert root.findtext(f"{ns}title") == "Notices written per day, by channel"
    assert "Sun 01: email 1, sms 1" in (root.findtext(f"{ns}desc") or "")
    bars = [r.findtext(f"{ns}title") for r in root.iter(f"{ns}rect") if r.find(f"{ns}title") is not None]
    assert bars == ["Sun 01 email: 1", "Sun 01 sms: 1", "Tue 03 email: 2", "Tue 03 sms: 1"]


def test_an_empty_week_has_no_rates_rather_than_zero_and_a_bad_zone_is_refused(client: TestClient) -> None:
    got = client.get("/api/dashboard", headers=AUTH, params={"tz": "America/Sao_Paulo"}).json()
    assert got["timezone"] == "America/Sao_Paulo" and got["notices"]["week"]["total"] == 0
    assert got["rates"]["delivery_rate"] is None and got["lead_time"]["median_hours"] is None
    assert client.get("/api/dashboard", headers=AUTH, params={"tz": "Mars/Olympus"}).status_code == 400
    assert client.get("/api/dashboard").status_code == 401
