"""What a status event means for customers: start the debounce, tell those told the news, or close
their threads when the incident is over."""

from __future__ import annotations

from sqlmodel import Session

from engine.detection.outages.rule import outage_debounce, still_down
from engine.detection.outages.threads import bring_threads_in_line
from engine.models import Incident
from engine.runtime import Runtime
from engine.state.services import DOWN, ComponentChange


def on_component_change(session: Session, rt: Runtime, change: ComponentChange) -> None:
    """A status event was applied to a component (in the caller's transaction)."""
    if change.stale:
        return
    component, incident = change.component, change.incident
    old = change.previous_incident_id
    if component.status in DOWN:
        if change.previous_status not in DOWN and component.down_since is not None:
            # A new spell: customers hear about it only if it lasts (the announcement scan tells them).
            component.notify_at = component.down_since + outage_debounce(rt)
        elif old is not None and old != component.incident_id and component.down_since is not None:
            # Still down, now filed under another incident: that one is announced at the next scan.
            component.notify_at = component.down_since + outage_debounce(rt)
        if incident is not None:
            # News for those told (at most every UPDATE_EVERY each); a warning still waiting out quiet
            # hours is replaced by the newer one.
            bring_threads_in_line(session, rt, incident, down=True)
    else:
        component.notify_at = None
        if incident is not None and not still_down(session, incident):
            bring_threads_in_line(session, rt, incident, down=False)
    if old is not None and old != (incident.id if incident is not None else None):
        previous = session.get(Incident, old)
        if previous is not None and not still_down(session, previous):
            bring_threads_in_line(session, rt, previous, down=False)
