"""The audit log for staff: filter by actor, action, subject and time; export any range as CSV (streamed,
itself audited); verify the chain on demand and see when it last was and where it first broke."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from support.databases import tampering
from support.stories import carrier_exception

from engine.brakes.pause import set_paused
from engine.clock import SimulatedClock, format_instant
from engine.read import audit_log
from engine.runtime import Runtime

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
def story(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    """A warning sent at the start; an hour later staff pause sending with a reason a spreadsheet would run."""
    carrier_exception(client, rt, clock)
    clock.advance(timedelta(hours=1))
    with rt.unit_of_work() as session:
        set_paused(session, True, "staff:ops@example.com", at=clock.now(), reason="=HYPERLINK(evil)")


def items(client: TestClient, **params: object) -> list[dict[str, object]]:
    response = client.get("/api/audit", headers=AUTH, params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, object]] = response.json()["items"]
    return found


@pytest.mark.usefixtures("story")
def test_filters_by_actor_action_subject_and_window(client: TestClient, clock: SimulatedClock) -> None:
    [paused] = items(client, actor="staff:ops@example.com")
    assert paused["action"] == "sending.paused"
    sent = items(client, action="notice.sent")
    assert len(sent) == 2
    subject = str(sent[0]["subject"])
    assert {e["action"] for e in items(client, subject=subject)} == {"notice.planned", "notice.sent"}
    before_pause = {"since": format_instant(clock.now() - timedelta(hours=2)), "until": format_instant(clock.now())}
    assert "sending.paused" not in {e["action"] for e in items(client, **before_pause)}
    assert len(items(client, **before_pause, action="notice.sent")) == 2
    assert items(client, actor="staff:ops@example.com", action="notice.sent") == []


@pytest.mark.usefixtures("story")
def test_a_window_pages_through_every_entry_once(client: TestClient, clock: SimulatedClock) -> None:
    window = {"since": format_instant(clock.now() - timedelta(hours=5)), "until": format_instant(clock.now())}
    everything = items(client, **window, limit=1000)
    seen, cursor = [], None
    while True:
        params = {**window, "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/audit", headers=AUTH, params=params).json()
        seen += [e["seq"] for e in body["items"]]
        if (cursor := body["next_cursor"]) is None:
            break
    assert seen == [e["seq"] for e in everything] and len(seen) == len(set(seen)) > 3


@pytest.mark.usefixtures("story")
def test_the_csv_export_streams_every_entry_in_batches_and_is_itself_audited(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_log, "EXPORT_BATCH", 2)  # several batches from a short story
    total = len(items(client, limit=1000))

    response = client.get("/api/audit.csv", headers=AUTH)

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="forewarn-audit-')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["seq"]) for r in rows] == list(range(1, total + 2))  # everything, oldest first, and the export
    assert rows[-1]["action"] == "audit.exported" and rows[-1]["actor"] == "staff:api"
    assert json.loads(rows[-1]["details"]) == {"address": "testclient", "filters": {}}
    [paused] = [r for r in rows if r["action"] == "sending.paused"]
    assert json.loads(paused["details"])["reason"] == "=HYPERLINK(evil)"  # inside JSON: not a formula
    assert paused["actor"] == "staff:ops@example.com"

    only_pause = client.get("/api/audit.csv", headers=AUTH, params={"action": "sending.paused"}).text
    assert len(list(csv.DictReader(io.StringIO(only_pause)))) == 1


def test_a_cell_that_would_be_a_formula_stays_text() -> None:
    line = audit_log._csv_row(("=1+1", "+call", "-2", "@SUM", "plain"))
    assert next(csv.reader([line])) == ["'=1+1", "'+call", "'-2", "'@SUM", "plain"]


@pytest.mark.usefixtures("story")
def test_verifying_on_demand_records_when_and_finds_the_first_broken_entry(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    never = client.get("/api/audit/chain", headers=AUTH).json()
    assert never["verified"] is None and never["last_verified_at"] is None and never["entries"] > 5

    ok = client.post("/api/audit/chain/verify", headers=AUTH).json()
    assert ok["verified"] is True and ok["first_broken_seq"] is None and ok["checked"] == never["entries"]
    assert ok["last_verified_at"] == format_instant(clock.now()) and ok["last_verified_by"] == "staff:api"

    with tampering(rt.db) as conn:
        conn.execute(text("UPDATE audit_entries SET actor = 'staff:mallory' WHERE seq = 3"))
    clock.advance(timedelta(minutes=5))
    broken = client.post("/api/audit/chain/verify", headers=AUTH).json()
    assert broken["verified"] is False and broken["first_broken_seq"] == 3 and "hash" in broken["reason"]
    assert client.get("/api/audit/chain", headers=AUTH).json() == broken
