"""The blast-radius guard: an outage fan-out over FOREWARN_FANOUT_APPROVAL waits for staff to approve it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from support.outage_story import AUTH, audited, notices, ops_client, run_for, status, subscribers

from engine.clock import SimulatedClock
from engine.models import Component, FanoutApproval
from engine.runtime import Runtime


@pytest.fixture
def api(rt: Runtime) -> Iterator[TestClient]:
    rt.settings = rt.settings.model_copy(update={"fanout_approval": 2})
    with ops_client(rt) as client:
        yield client


def approvals(rt: Runtime) -> list[FanoutApproval]:
    with Session(rt.db) as session:
        return list(session.exec(select(FanoutApproval)).all())


def pending_after_a_big_outage(rt: Runtime, clock: SimulatedClock) -> FanoutApproval:
    subscribers(rt, "checkout", "C1", "C2", "C3")
    status(rt, "checkout", "major_outage", title="Checkout is down")
    run_for(rt, clock, timedelta(minutes=15))
    [approval] = approvals(rt)
    return approval


def test_a_big_fan_out_waits_for_one_approval_with_a_preview(
    api: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    approval = pending_after_a_big_outage(rt, clock)
    assert notices(rt) == []
    assert (approval.incident_id, approval.component, approval.recipients) == ("INC-7", "checkout", 3)
    assert approval.status == "pending" and approval.decided_at is None
    assert approval.preview_subject is not None and "Checkout is down" in approval.preview_subject
    assert approval.preview_text.startswith("Hi ") and "checkout" in approval.preview_text.lower()
    run_for(rt, clock, timedelta(minutes=30))  # later scans neither ask again nor send
    assert len(approvals(rt)) == 1 and notices(rt) == []
    [requested] = audited(rt, "fanout.approval_requested")
    assert requested.subject == "incident:INC-7"
    assert requested.details == {"approval_id": approval.id, "component": "checkout", "recipients": 3}

    listed = api.get("/api/approvals", params={"status": "pending"}, headers=AUTH).json()
    assert listed["count"] == 1
    [item] = listed["items"]
    assert item["id"] == approval.id and item["recipients"] == 3
    assert "Checkout is down" in item["preview"]["subject"] and item["preview"]["text"] == approval.preview_text
    assert api.get("/api/approvals", params={"status": "approved"}, headers=AUTH).json() == {"items": [], "count": 0}


def test_approved_the_next_scan_tells_everyone(api: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    approval = pending_after_a_big_outage(rt, clock)
    response = api.post(f"/api/approvals/{approval.id}/approve", json={"note": "real outage"}, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["status"] == "approved" and response.json()["decided_by"] == "staff:api"
    assert notices(rt) == []  # the scan does the telling
    run_for(rt, clock, timedelta(minutes=1))
    assert notices(rt) == [("C1", "initial", "sent"), ("C2", "initial", "sent"), ("C3", "initial", "sent")]
    [approved] = audited(rt, "fanout.approved")
    assert approved.actor == "staff:api" and approved.subject == "incident:INC-7"
    assert approved.details["note"] == "real outage" and approved.details["recipients"] == 3
    [announced] = audited(rt, "incident.announced")
    assert announced.details["recipients"] == 3
    status(rt, "checkout", "operational")  # the resolution needs no second approval
    assert [stage for _, stage, _ in notices(rt)] == ["initial"] * 3 + ["resolved"] * 3
    assert api.post(f"/api/approvals/{approval.id}/decline", headers=AUTH).status_code == 409


def test_declined_nothing_is_ever_sent_for_the_spell(api: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    approval = pending_after_a_big_outage(rt, clock)
    response = api.post(f"/api/approvals/{approval.id}/decline", headers=AUTH)
    assert response.status_code == 200 and response.json()["status"] == "declined"
    with Session(rt.db) as session:
        component = session.get(Component, "checkout")
        assert component is not None and component.notify_at is None and component.status == "major_outage"
    run_for(rt, clock, timedelta(hours=3), step=timedelta(minutes=10))
    status(rt, "checkout", "operational")
    run_for(rt, clock, timedelta(minutes=30))
    assert notices(rt) == []
    [declined] = audited(rt, "fanout.declined")
    assert declined.actor == "staff:api" and declined.details["component"] == "checkout"
    assert audited(rt, "incident.announced") == []
    # The same incident flaring up again follows the decision rather than asking again.
    status(rt, "checkout", "major_outage", title="Checkout is down")
    run_for(rt, clock, timedelta(minutes=15))
    assert notices(rt) == [] and len(approvals(rt)) == 1
    [skipped] = audited(rt, "incident.not_announced")
    assert skipped.details["reason"] == "fan-out declined"
    assert api.post(f"/api/approvals/{approval.id}/approve", headers=AUTH).status_code == 409


def test_a_small_fan_out_needs_no_approval(api: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    subscribers(rt, "checkout", "C1", "C2")
    subscribers(rt, "search", "C3", "C4", "C5")  # a near-miss name must not count towards checkout
    status(rt, "checkout", "major_outage")
    run_for(rt, clock, timedelta(minutes=15))
    assert notices(rt) == [("C1", "initial", "sent"), ("C2", "initial", "sent")]
    assert approvals(rt) == [] and audited(rt, "fanout.approval_requested") == []


def test_the_approval_api_needs_the_token_and_known_ids(api: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    approval = pending_after_a_big_outage(rt, clock)
    assert api.get("/api/approvals").status_code == 401
    assert api.post(f"/api/approvals/{approval.id}/approve").status_code == 401
    assert api.post(f"/api/approvals/{approval.id}/decline", headers={"Authorization": "Bearer no"}).status_code == 401
    assert api.post("/api/approvals/999/approve", headers=AUTH).status_code == 404
    assert api.post("/api/approvals/999/decline", headers=AUTH).status_code == 404
    assert api.get("/api/approvals", params={"status": "maybe"}, headers=AUTH).status_code == 400
    assert api.get("/api/approvals", headers=AUTH).json()["count"] == 1  # no filter: every status
    assert approvals(rt)[0].status == "pending"  # nothing was decided by the rejected requests
    assert audited(rt, "fanout.approved", "fanout.declined") == []
