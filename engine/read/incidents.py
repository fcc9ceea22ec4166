"""Live and recent incidents for staff (GET /api/incidents): their components, how many customers follow
them, how many were told, are waiting (quiet hours, the daily limit, an approval) and were thanked."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from engine.brakes import approvals as approval_service
from engine.brakes.pause import pause_state
from engine.clock import format_instant
from engine.models import ApprovalStatus, FanoutApproval, Incident
from engine.read import incident_records as records

RECENT = timedelta(days=7)  # resolved incidents stay on the page this long
MOST = 100


def incidents_overview(session: Session, *, now: datetime) -> dict[str, Any]:
    """Incidents not resolved, and resolved in the last 7 days (newest first), and the pause switch."""
    found = records.live_and_recent(session, resolved_since=now - RECENT, limit=MOST)
    approvals = records.approvals_for(session, [i.id for i in found])
    pause = pause_state(session)
    return {
        "items": [_incident(session, i, [a for a in approvals if a.incident_id == i.id], now=now) for i in found],
        "pause": {
            "paused": pause.paused,
            "updated_at": format_instant(pause.updated_at) if pause.updated_at else None,
            "updated_by": pause.updated_by,
            "reason": pause.reason,
        },
    }


def incident_summary(session: Session, incident_id: str, *, now: datetime) -> dict[str, Any] | None:
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    return _incident(session, incident, records.approvals_for(session, [incident_id]), now=now)


def _incident(
    session: Session, incident: Incident, approvals: list[FanoutApproval], *, now: datetime
) -> dict[str, Any]:
    reach = records.reach(session, incident.id, now=now)
    pending = [a for a in approvals if a.status == ApprovalStatus.PENDING]
    declined = [a for a in approvals if a.status == ApprovalStatus.DECLINED]
    return {
        "id": incident.id,
        "title": incident.title,
        "status": incident.status,
        "message": incident.message,
        "components": incident.components,
        "started_at": format_instant(incident.started_at),
        "resolved_at": format_instant(incident.resolved_at) if incident.resolved_at else None,
        "live": incident.resolved_at is None,
        "customers": {
            "affected": records.followers(session, incident.components),
            "told": reach.told,
            "waiting": {
                "quiet_hours": reach.waiting_quiet_hours,
                "daily_limit": reach.waiting_daily_limit,
                "approval": sum(a.recipients for a in pending),
            },
            "thanked": reach.thanked,
            "not_sent": reach.not_sent,
            "declined": sum(a.recipients for a in declined),
        },
        "approvals": [approval_service.describe(a) for a in approvals],
    }
