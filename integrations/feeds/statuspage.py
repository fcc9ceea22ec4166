"""Atlassian Statuspage webhooks (unsigned: a token guards them) as `service.status` per component."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from engine.errors import InvalidEvent
from engine.events.schema import SERVICE_STATUSES, CanonicalEvent
from engine.inbound.feed import WebhookRequest
from engine.vocabulary import FeedSource
from integrations.feeds._common import (
    Json,
    canonical,
    decode_object,
    digest,
    items,
    key_part,
    opaque_id,
    opt_instant,
    opt_obj,
    required_id,
    slug,
    stamp,
    text,
    verify_token,
)

INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved", "postmortem")
MAINTENANCE_STATUSES = ("scheduled", "in_progress", "verifying", "completed")
# An open incident's impact, for components Statuspage still shows as operational.
IMPACT = {"minor": "degraded_performance", "major": "partial_outage", "critical": "major_outage"}
EPOCH = datetime.min.replace(tzinfo=UTC)
SEVERITY = {status: rank for rank, status in enumerate(("operational", *IMPACT.values()))}


class StatuspageFeed:
    source = FeedSource.STATUSPAGE

    def __init__(self, token: str, *, component_map: Mapping[str, str] | None = None) -> None:
        self._token = token
        self._map = dict(component_map or {})

    def verify(self, request: WebhookRequest) -> None:
        verify_token(self._token, request)

    def parse(self, request: WebhookRequest) -> list[CanonicalEvent]:
        body = decode_object(request.body)
        if isinstance(body.get("incident"), dict):
            raws = self._incident(body["incident"], request.received_at)
        elif isinstance(body.get("component_update"), dict) or isinstance(body.get("component"), dict):
            raws = self._component(body, request.received_at)
        else:
            raise InvalidEvent("body has neither 'incident' nor 'component_update': not a Statuspage webhook")
        return canonical("statuspage", raws)

    def _name(self, component_id: str | None, name: str | None) -> str | None:
        for key in (component_id, name):
            if key and key in self._map:
                return self._map[key]
        return slug(name) if name and slug(name) else component_id

    def _incident(self, incident: Json, received_at: datetime) -> list[Json]:
        incident_id = required_id(incident, "id", "incident")
        status = text(incident, "status")
        if status not in INCIDENT_STATUSES + MAINTENANCE_STATUSES:
            raise InvalidEvent(f"incident.status: {status!r} is not a Statuspage incident status")
        if status == "scheduled":
            return []  # maintenance announced for later: nothing is affected yet
        impact = text(incident, "impact") or "none"
        updates = sorted(items(incident, "incident_updates"), key=lambda u: _update_time(u) or EPOCH)
        latest = updates[-1] if updates else {}
        at = (
            _update_time(latest)
            or opt_instant(incident.get("updated_at"))
            or opt_instant(incident.get("created_at"))
            or received_at
        )
        # The newest update is the moment this delivery describes; a redelivery names the same one.
        prefix = f"statuspage:{key_part(incident_id, 40)}:{key_part(opaque_id(latest.get('id')) or stamp(at), 40)}"
        service: Json = {"incident_id": incident_id, "title": text(incident, "name") or ""}
        if text(latest, "body"):
            service["message"] = text(latest, "body")
        raws = []
        for component_id, name, shown in _affected(incident, latest):
            component = self._name(component_id, name)
            if component:
                raws.append(
                    {
                        "id": f"{prefix}:{digest(component, length=12)}",
                        "type": "service.status",
                        "occurred_at": stamp(at),
                        "service": {**service, "component": component, "status": _status(status, impact, shown)},
                    }
                )
        if not raws and "*" in self._map:
            # An incident that names no component goes to the one configured for the whole page.
            raws.append(
                {
                    "id": f"{prefix}:page",
                    "type": "service.status",
                    "occurred_at": stamp(at),
                    "service": {**service, "component": self._map["*"], "status": _status(status, impact, None)},
                }
            )
        return raws

    def _component(self, body: Json, received_at: datetime) -> list[Json]:
        update, component = opt_obj(body, "component_update"), opt_obj(body, "component")
        component_id = opaque_id(component.get("id")) or opaque_id(update.get("component_id"))
        name = self._name(component_id, text(component, "name"))
        if not name:
            raise InvalidEvent("component: needs an id or a name")
        status = text(update, "new_status") or text(component, "status")
        if status not in SERVICE_STATUSES:
            raise InvalidEvent(f"component_update.new_status: {status!r} is not a Statuspage component status")
        at = opt_instant(update.get("created_at")) or opt_instant(component.get("updated_at")) or received_at
        key = opaque_id(update.get("id")) or f"{component_id}:{stamp(at)}"
        return [
            {
                "id": f"statuspage:component:{key_part(key)}",
                "type": "service.status",
                "occurred_at": stamp(at),
                "service": {"component": name, "status": status, "title": text(component, "name") or name},
            }
        ]


def _affected(incident: Json, latest: Json) -> list[tuple[str | None, str | None, str | None]]:
    """(id, name, status shown) per component: the incident's list, plus the newest update's."""
    found: dict[str, tuple[str | None, str | None, str | None]] = {}
    for component in items(incident, "components"):
        cid, name = opaque_id(component.get("id")), text(component, "name")
        found[cid or name or ""] = (cid, name, text(component, "status"))
    for affected in items(latest, "affected_components"):
        cid, name = opaque_id(affected.get("code")), text(affected, "name")
        found.setdefault(cid or name or "", (cid, name, text(affected, "new_status")))
    return [value for key, value in found.items() if key]


def _status(incident_status: str, impact: str, shown: str | None) -> str:
    """What a component's customers experience under this incident right now."""
    if incident_status in ("resolved", "postmortem", "completed"):
        return "operational"
    if incident_status in ("in_progress", "verifying") or impact == "maintenance":
        return "under_maintenance"
    current = shown if shown in SERVICE_STATUSES else "operational"
    if current == "under_maintenance":
        return current
    # Components are the finer statement, but an incident marked worse than them is not ignored.
    implied = IMPACT.get(impact, "operational")
    return max(current, implied, key=lambda status: SEVERITY.get(status, 0))


def _update_time(update: Json) -> datetime | None:
    return opt_instant(update.get("display_at")) or opt_instant(update.get("created_at"))
