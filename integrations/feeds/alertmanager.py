"""Prometheus Alertmanager webhooks (v4; unsigned: a token guards them) as `service.status`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from engine.errors import InvalidEvent
from engine.events.schema import CanonicalEvent
from engine.inbound.feed import WebhookRequest
from engine.vocabulary import FeedSource
from integrations.feeds._common import (
    Json,
    canonical,
    decode_object,
    digest,
    key_part,
    opt_instant,
    opt_obj,
    stamp,
    text,
    verify_token,
)

# A firing alert's `severity` label → component status. Only a page-worthy alert means an outage;
# a warning is a slowdown until someone raises it. Unknown or missing severities count as warnings.
SEVERITY = {
    "critical": "major_outage",
    "page": "major_outage",
    "high": "major_outage",
    "error": "partial_outage",
    "major": "partial_outage",
}


class AlertmanagerFeed:
    source = FeedSource.ALERTMANAGER

    def __init__(
        self,
        token: str,
        *,
        component_labels: Sequence[str] = ("component", "service"),
        component_map: Mapping[str, str] | None = None,
    ) -> None:
        self._token = token
        self._labels = [label.strip() for label in component_labels if label.strip()]
        self._map = dict(component_map or {})

    def verify(self, request: WebhookRequest) -> None:
        verify_token(self._token, request)

    def parse(self, request: WebhookRequest) -> list[CanonicalEvent]:
        body = decode_object(request.body)
        version = body.get("version")
        if version is not None and str(version) != "4":
            raise InvalidEvent(f"version: {version!r} is not supported (Alertmanager webhook version 4 is)")
        alerts = body.get("alerts")
        if not isinstance(alerts, list):
            raise InvalidEvent("alerts: expected a list of alerts")
        group_status = text(body, "status")
        mapped = []
        for position, alert in enumerate(alerts):
            if not isinstance(alert, dict):
                raise InvalidEvent(f"alerts[{position}]: expected an object")
            component = self._component(opt_obj(alert, "labels"))
            if component is not None:  # an alert about no customer-facing component is not ours to tell
                mapped.append((position, alert, component))
        # One payload holds the whole group: a resolved alert must not clear a component that another
        # alert in the same group still reports as firing.
        firing = {component for _, alert, component in mapped if _alert_status(alert, group_status) == "firing"}
        raws = []
        for position, alert, component in mapped:
            status = _alert_status(alert, group_status)
            if status == "resolved" and component in firing:
                continue
            raws.append(_event(position, alert, component, status, request.received_at))
        return canonical("alertmanager", raws)

    def _component(self, labels: Json) -> str | None:
        for label in self._labels:
            value = text(labels, label)
            if value:
                return self._map.get(value, value)
        return None


def _alert_status(alert: Json, group_status: str | None) -> str:
    return text(alert, "status") or group_status or "firing"


def _event(position: int, alert: Json, component: str, status: str, received_at: datetime) -> Json:
    if status not in ("firing", "resolved"):
        raise InvalidEvent(f"alerts[{position}].status: {status!r} is neither 'firing' nor 'resolved'")
    labels, annotations = opt_obj(alert, "labels"), opt_obj(alert, "annotations")
    # Older Alertmanagers send no fingerprint: the label set identifies an alert just as well.
    fingerprint = text(alert, "fingerprint") or digest(json.dumps(labels, sort_keys=True), length=16)
    starts, ends = opt_instant(alert.get("startsAt")), opt_instant(alert.get("endsAt"))
    if status == "firing":
        severity = (text(labels, "severity") or "").lower()
        canonical_status, at = SEVERITY.get(severity, "degraded_performance"), starts or received_at
        key_at = at
    else:
        # A resolution without a real endsAt (some senders leave 0001-01-01) is news as of its arrival:
        # dated at startsAt it would tie with the firing, and a late repeat of that could undo it.
        canonical_status, at = "operational", ends or received_at
        key_at = ends or starts or received_at  # the same on every retry, so a redelivery still dedupes
    # Repeats of one firing (or one resolution) dedupe; firing and resolved are distinct events.
    service: Json = {
        "component": component,
        "status": canonical_status,
        "incident_id": f"am:{key_part(fingerprint, 64)}",
        "title": text(annotations, "summary") or text(labels, "alertname") or "",
    }
    description = text(annotations, "description", "message")
    if description:
        service["message"] = description
    return {
        "id": f"alertmanager:{key_part(fingerprint, 64)}:{status}:{stamp(key_at)}",
        "type": "service.status",
        "occurred_at": stamp(at),
        "service": service,
    }
