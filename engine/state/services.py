"""Components and incidents from `service.status` events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from engine.db import insert_if_absent, row_locks
from engine.events.schema import CanonicalEvent
from engine.models import Component, Incident

DOWN = ("degraded_performance", "partial_outage", "major_outage")


@dataclass(frozen=True)
class ComponentChange:
    component: Component
    incident: Incident | None
    previous_status: str | None
    stale: bool


def apply_service_status(session: Session, event: CanonicalEvent, *, now: datetime) -> ComponentChange:
    body = event.service
    assert body is not None
    at = event.occurred_at
    component = session.get(Component, body.component, with_for_update=row_locks(session))
    if component is None:
        insert_if_absent(
            session, Component, {"name": body.component, "status": "operational", "updated_at": now}, ["name"]
        )
        component = session.get(Component, body.component, with_for_update=row_locks(session))
        assert component is not None
    previous = component.status if component.status_at is not None else None
    incident = None
    if body.incident_id:
        incident = session.get(Incident, body.incident_id, with_for_update=row_locks(session))
        if incident is None:
            values = {
                "id": body.incident_id,
                "title": body.title,
                "status": body.status,
                "components": [],
                "started_at": at,
                "updated_at": now,
            }
            insert_if_absent(session, Incident, values, ["id"])
            incident = session.get(Incident, body.incident_id, with_for_update=row_locks(session))
            assert incident is not None
    if component.status_at is not None and at < component.status_at:
        return ComponentChange(component, incident, previous, stale=True)
    component.status, component.status_at, component.updated_at = body.status, at, now
    if body.status in DOWN:
        component.down_since = component.down_since or at
        component.incident_id = body.incident_id or component.incident_id
    else:
        component.down_since = None
    if incident is not None:
        incident.title = body.title or incident.title
        incident.message = body.message or incident.message
        incident.status = body.status
        if body.component not in incident.components:
            incident.components = [*incident.components, body.component]
        incident.resolved_at = at if body.status == "operational" else None
        incident.updated_at = now
    return ComponentChange(component, incident, previous, stale=False)
