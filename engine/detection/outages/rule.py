"""The outage rule: when a component's trouble is worth telling its followers, and what counts as news.

Nothing is sent when a component goes down: its `notify_at` (down_since + FOREWARN_OUTAGE_DEBOUNCE)
is set, and the scheduler's announcement scan tells its followers when that is due, so a blip that heals
inside the window sends nothing. Each customer hears one thread per incident (`incident:<id>`): an
`initial`, an `update` only on news (a new message at most every UPDATE_EVERY; a worse severity at once,
because "it is down now" must not wait two hours behind "it is slow"), and a `resolved` once none of the
incident's components is down.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from engine.clock import format_instant, parse_duration
from engine.compose.incidents import is_news
from engine.detection.rules import OUTAGES
from engine.models import Component, Incident
from engine.notices.composer import Subject
from engine.runtime import Runtime
from engine.situations.service import Matter
from engine.state.services import DOWN
from engine.vocabulary import ThreadKind, thread_key

(KIND,) = OUTAGES.kinds
SEVERITY = {"degraded_performance": 1, "partial_outage": 2, "major_outage": 3}
# An incident thread gets at most one update in this long, however chatty the status page is.
UPDATE_EVERY = timedelta(hours=2)


def incident_subject_key(incident_id: str) -> str:
    return thread_key(ThreadKind.INCIDENT, incident_id)


def outage_debounce(rt: Runtime) -> timedelta:
    return parse_duration(rt.settings.outage_debounce)


def incident_details(incident: Incident) -> dict[str, Any]:
    """What a customer's situation records of the incident when they are told (news is judged against it)."""
    return {
        "incident_id": incident.id,
        "status": incident.status,
        "message": incident.message,
        "components": list(incident.components),
    }


def disruption(incident: Incident) -> Matter:
    """The situation its followers are told about: one thread per incident."""
    return Matter(KIND, incident_subject_key(incident.id), Subject(incident=incident), incident_details(incident))


def worse(told: dict[str, Any], incident: Incident) -> bool:
    """The incident is now worse than what the customer was told: news that goes out at once."""
    return SEVERITY.get(incident.status, 0) > SEVERITY.get(str(told.get("status")), 0)


def news(told: dict[str, Any], incident: Incident) -> str | None:
    """Why this incident state is worth an update to someone told `told`, or None."""
    if worse(told, incident):
        return f"worse: {told.get('status')} -> {incident.status}"
    if is_news(incident.message) and incident.message != told.get("message"):
        return "new message from the status page"  # not one that only restates the status
    return None


def down_reason(component: Component) -> str:
    """The audit log's reason for telling a component's followers."""
    down_since = format_instant(component.down_since) if component.down_since else "?"
    return f"{component.name} {component.status} since {down_since}"


def still_down(session: Session, incident: Incident) -> bool:
    """Whether any of the incident's components is still down for it (its threads stay open)."""
    for name in incident.components:
        other = session.get(Component, name)
        if other is not None and other.status in DOWN and other.incident_id == incident.id:
            return True
    return False
