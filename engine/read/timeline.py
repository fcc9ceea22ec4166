"""One moment on a timeline (a notice's or a customer's), and what an audit entry says in plain words.

Timelines are read from durable records only: the audit log, delivery attempts and the rows themselves.
Each moment keeps the audit entry's sequence number when it came from one, so staff can find it there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.clock import format_instant
from engine.models import AuditEntry


@dataclass(frozen=True)
class Moment:
    at: datetime
    kind: str  # "planned", "attempt", "opted_out", … (an audit action without its "notice."/"customer." prefix)
    summary: str  # what happened, in the words staff read
    actor: str | None = None
    subject: str | None = None  # "notice:12", "order:A1001", … what the moment is about
    seq: int | None = None  # the audit entry it came from
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "at": format_instant(self.at),
            "kind": self.kind,
            "summary": self.summary,
            "actor": self.actor,
            "subject": self.subject,
            "audit_seq": self.seq,
            "details": self.details,
        }


# Moments at one instant (a simulated clock, a fast worker) in the order things happen: what came in
# first, then a notice's steps, then what the audit log says in its own order, then the notices written.
_STEP = {
    "event": -1,
    "order_placed": -1,
    "incident_started": -1,
    "planned": 0,
    "held_quiet_hours": 0,
    "held_daily_limit": 1,
    "queued": 2,
    "claimed": 3,
    "attempt": 4,
    "notice": 6,
}
_LATER = 5


def in_order(moments: Iterable[Moment]) -> list[Moment]:
    """Oldest first; at one instant, in the order things happen (`_STEP`), else in the audit log's."""
    return sorted(moments, key=lambda m: (m.at, _STEP.get(m.kind, _LATER), m.seq or 0))


def _at(details: dict[str, Any], key: str) -> str:
    value = details.get(key)
    return str(value) if value else "?"


def _reason(details: dict[str, Any]) -> str:
    return f": {details['reason']}" if details.get("reason") else ""


class _Details(dict[str, Any]):
    """An entry's details for a sentence: a detail it lacks reads "None", as `details.get` would give."""

    def __missing__(self, key: str) -> None:
        return None


def _said(template: str) -> Callable[[dict[str, Any]], str]:
    """The sentence `template` with the entry's details in it (`{recipients}`); `{reason}` is ": <the
    reason>" when the entry gives one, else nothing."""
    return lambda d: template.format_map(_Details(d, reason=_reason(d)))


# action → the sentence staff read. Unknown actions fall back to the action itself.
_SAY: dict[str, Callable[[dict[str, Any]], str]] = {
    "notice.planned": lambda d: f"written to the outbox, to go at {_at(d, 'send_at')}",
    "notice.deferred": lambda d: f"held for the recipient's quiet hours, to go at {_at(d, 'send_at')}",
    "notice.held": lambda d: (
        f"held by the daily limit ({d.get('used')} of {d.get('limit')} sent in 24 h), to go at {_at(d, 'send_at')}"
    ),
    "notice.merged": _said("merged into notice {merged_into}{reason}"),
    "notice.sent": _said("accepted by the provider (attempt {attempt})"),
    "notice.retry_scheduled": lambda d: f"temporary failure, retrying at {_at(d, 'retry_at')}",
    "notice.failed": _said("failed{reason}"),
    "notice.provider_status": _said("the provider reports it {provider_status}"),
    "notice.delivered": lambda d: f"the provider reports it {d.get('provider_status', 'delivered')}",
    "notice.dropped": _said("not sent{reason}"),
    "notice.fallback": _said("the text failed; sent by email instead as notice {fallback_notice_id}"),
    "notice.suppressed": lambda d: f"no {d.get('channel') or 'message'} sent{_reason(d)}",
    "situation.opened": _said("{kind} opened{reason}"),
    "situation.updated": _said("{kind} changed{reason}"),
    "situation.reopened": _said("{kind} reopened{reason}"),
    "situation.resolved": _said("{kind} resolved{reason}"),
    "customer.sms_opted_out": _said("opted out of texts{reason}"),
    "customer.sms_opted_in": _said("opted back in to texts{reason}"),
    "customer.email_unsubscribed": _said("unsubscribed from update emails"),
    "customer.email_resubscribed": _said("subscribed to update emails again"),
    "customer.replied": lambda d: f"replied by {d.get('channel', 'text')}",
    "suppression.added": _said("{channel} address put on the suppression list{reason}"),
    "suppression.removed": _said("{channel} address taken off the suppression list{reason}"),
    "fanout.approval_requested": _said("approval asked to tell {recipients} customers"),
    "fanout.approved": _said("fan-out to {recipients} customers approved"),
    "fanout.declined": _said("fan-out to {recipients} customers declined: nobody is told"),
    "incident.announced": _said("announced to {recipients} customers of {component}"),
    "incident.not_announced": _said("not announced{reason}"),
    "contact.revealed": _said("contact details shown to staff"),
}


# Kinds that would read wrongly as the action's last word alone.
_KIND = {"suppression.added": "address_suppressed", "suppression.removed": "address_cleared"}


def from_entry(entry: AuditEntry, *, kind: str | None = None) -> Moment:
    """The moment an audit entry records, in plain words."""
    say = _SAY.get(entry.action)
    return Moment(
        at=entry.at,
        kind=kind or _KIND.get(entry.action) or entry.action.split(".", 1)[-1],
        summary=say(entry.details) if say else entry.action,
        actor=entry.actor,
        subject=entry.subject,
        seq=entry.seq,
        details=dict(entry.details),
    )
