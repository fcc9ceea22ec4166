"""Components and incidents from `service.status` events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from engine.clock import format_instant
from engine.db import insert_if_absent, row_locks
from engine.events.schema import CanonicalEvent
from engine.models import Component, Incident

DOWN = ("degraded_performance", "partial_outage", "major_outage")


def spell_incident_id(component: str, down_since: datetime) -> str:
    """The incident id given to a spell reported without one, e.g. `checkout@2026-03-03T18:00:00Z`."""
    return f"{component[:96]}@{format_instant(down_since)}"


@dataclass(frozen=True)
class ComponentChange:
    component: Component
    incident: Incident | None
    previous_status: str | None
    stale: bool
    # The incident the component was down for before this event (None if it was not down).
    previous_incident_id: str | None = None


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
    previous_incident = component.incident_id if component.down_since is not None else None
    stale = component.status_at is not None and at < component.status_at
    incident_id = body.incident_id
    if not stale and not incident_id:
        # A feed without incident ids: the spell is the incident (one thread per spell, not per event).
        incident_id = component.incident_id if component.down_since is not None else None
        if not incident_id and body.status in DOWN:
            incident_id = spell_incident_id(body.component, component.down_since or at)
    incident = None
    if incident_id:
        incident = session.get(Incident, incident_id, with_for_update=row_locks(session))
        if incident is None:
            values = {
                "id": incident_id,
                "title": body.title[:300],
                "status": body.status,
                "components": [],
                "started_at": at,
                "updated_at": now,
            }
            insert_if_absent(session, Incident, values, ["id"])
            incident = session.get(Incident, incident_id, with_for_update=row_locks(session))
            assert incident is not None
    if stale:
        return ComponentChange(component, incident, previous, stale=True)
    component.status, component.status_at, component.updated_at = body.status, at, now
    if body.status in DOWN:
        component.down_since = component.down_since or at
        component.incident_id = incident_id
    else:
        component.down_since = None
    if incident is not None:
        incident.title = body.title[:300] or incident.title
        incident.message = (body.message or incident.message or "")[:2000] or None
        incident.status = body.status
        if body.component not in incident.components:
            incident.components = [*incident.components, body.component]
        incident.resolved_at = at if body.status == "operational" else None
        incident.updated_at = now
    return ComponentChange(component, incident, previous, stale=False, previous_incident_id=previous_incident)


def due_components(session: Session, *, now: datetime) -> list[str]:
    """Components whose outage debounce has ended and whose followers are not told yet, soonest first."""
    statement = select(Component.name).where(col(Component.notify_at) <= now)
    return list(session.exec(statement.order_by(col(Component.notify_at), col(Component.name))).all())


def incidents_with_threads_due(session: Session, *, now: datetime) -> list[str]:
    """Incidents whose customers' threads are due to be brought in line (`threads_due_at`), soonest first."""
    statement = select(Incident.id).where(col(Incident.threads_due_at) <= now)
    return list(session.exec(statement.order_by(col(Incident.threads_due_at))).all())
