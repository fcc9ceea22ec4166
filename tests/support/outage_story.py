"""Outage stories for the guard and pause tests: feed events, let simulated time pass, read what was sent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from engine.api.app import create_app
from engine.clock import SimulatedClock, format_instant
from engine.detection.outages.announcement import scan_outages
from engine.models import AuditEntry, Notice
from engine.runtime import Runtime
from integrations.feeds import build_feeds
from support import builders
from support.pipeline import drain, feed

AUTH = {"Authorization": "Bearer test-token"}


def status(rt: Runtime, component: str, value: str, *, incident: str | None = "INC-7", **fields: Any) -> None:
    body: dict[str, Any] = {"component": component, "status": value, "title": f"{component} is failing", **fields}
    if incident is not None:
        body["incident_id"] = incident
    feed(
        rt,
        {
            "id": builders.next_id(),
            "type": "service.status",
            "occurred_at": format_instant(rt.clock.now()),
            "service": body,
        },
    )


def subscribers(rt: Runtime, component: str, *cids: str) -> None:
    feed(
        rt,
        *(
            builders.customer_upserted(
                rt.clock.now(), cid=cid, email=f"{cid.lower()}@example.com", components=[component], channels=["email"]
            )
            for cid in cids
        ),
    )


def run_for(rt: Runtime, clock: SimulatedClock, duration: timedelta, step: timedelta = timedelta(minutes=1)) -> None:
    """Let simulated time pass with the scheduler's outage scan running every `step`."""
    end = clock.now() + duration
    while clock.now() < end:
        clock.advance(step)
        scan_outages(rt)
        drain(rt)


def notices(rt: Runtime) -> list[tuple[str, str, str]]:
    with Session(rt.db) as session:
        rows = session.exec(select(Notice).order_by(col(Notice.id))).all()
    return [(n.customer_id, n.stage, n.status) for n in rows]


def audited(rt: Runtime, *actions: str) -> list[AuditEntry]:
    with Session(rt.db) as session:
        return list(
            session.exec(
                select(AuditEntry).where(col(AuditEntry.action).in_(actions)).order_by(col(AuditEntry.seq))
            ).all()
        )


def ops_client(rt: Runtime) -> TestClient:
    """The real app, as `forewarn serve` builds it."""
    return TestClient(create_app(rt, feeds=build_feeds(rt.settings)))
