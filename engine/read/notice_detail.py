"""One notice for review (GET /api/notices/{id}): the message as rendered, what happened to it step by
step, where it stands, and why it exists.

The delivery timeline is read from what the engine records durably, nothing kept for the page alone:

- the audit log, subject `notice:<id>`: planned, held for quiet hours or the daily limit, merged,
  sent, retry, failed, dropped (with the reason), provider callbacks, fallback to email;
- `delivery_attempts`: each attempt with when a worker claimed it and the provider's answer and id;
- the row: when it was last handed to the delivery queue (`enqueued_at`);
- the customer's opt-outs after it was written, and the notices merged into it.

Why it exists: the situation it tells about, the detection rule that raises that kind, the reason the
rule gave (the situation's audit entries) and the events that led there.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from engine.brakes.pause import pause_state
from engine.clock import format_instant
from engine.compose.segments import sms_segments
from engine.detection.rules import RULES
from engine.models import AuditEntry, DeliveryAttempt, Incident, Notice, Situation
from engine.read import notice_records as records
from engine.read.contacts import Viewer, record_reveal, show_address, show_text
from engine.read.events import describe_event
from engine.read.outcome import outcome
from engine.read.timeline import Moment, from_entry, in_order
from engine.runtime import Runtime
from engine.vocabulary import Channel, NoticeStatus, SituationKind

# Audit actions the record step writes beside each attempt: folded into that attempt's moment.
_ATTEMPT_ACTIONS = frozenset({"notice.sent", "notice.failed", "notice.retry_scheduled"})
_KINDS = {"notice.deferred": "held_quiet_hours", "notice.held": "held_daily_limit"}
_ANSWERS = {"sent": "the provider accepted it", "transient": "temporary failure", "rejected": "the provider refused it"}


def notice_detail(session: Session, rt: Runtime, notice_id: int, viewer: Viewer) -> dict[str, Any] | None:
    """The notice page's data, or None when there is no such notice. Audits a reveal of contact details."""
    notice = session.get(Notice, notice_id)
    if notice is None:
        return None
    record_reveal(session, viewer, subject=f"notice:{notice_id}", at=rt.clock.now(), page="notice")
    merged = records.merged_into(session, notice_id)
    row = notice.model_dump(mode="json")
    row["recipient"] = show_address(notice.recipient, viewer)
    return {
        "notice": row,
        "template_version_id": row["template_version_id"],
        "parts": parts(notice),
        "outcome": outcome(notice, pause=pause_state(session), now=rt.clock.now()).as_json(),
        "timeline": [m.as_json() for m in delivery_timeline(session, notice, merged, viewer)],
        "merged_from": [m.id for m in merged],
        "why": why(session, notice),
    }


def parts(notice: Notice) -> dict[str, Any]:
    """The message exactly as rendered: an email's subject, text and HTML; a text with what it costs."""
    if notice.channel == Channel.SMS:
        return {**sms_parts(notice.body), "template": notice.template, "locale": notice.locale}
    return {
        "subject": notice.subject,
        "text": notice.body,
        "html": notice.html,
        "template": notice.template,
        "locale": notice.locale,
    }


def sms_parts(text: str) -> dict[str, Any]:
    """A text and what it costs: its encoding, the characters the carrier counts, and the segments."""
    cost = sms_segments(text)
    return {"sms": text, "encoding": cost.encoding, "characters": cost.characters, "segments": cost.segments}


def delivery_timeline(session: Session, notice: Notice, merged: list[Notice], viewer: Viewer) -> list[Moment]:
    notice_id = notice.id or 0
    entries = records.entries_about(session, [f"notice:{notice_id}", *(f"notice:{m.id}" for m in merged)])
    attempts = records.attempts(session, notice_id)
    attempt_times = {a.attempted_at for a in attempts}
    own = f"notice:{notice_id}"
    moments: list[Moment] = []
    beside: dict[Any, AuditEntry] = {}
    for entry in entries:
        if entry.subject != own:
            if entry.action == "notice.merged":
                moments.append(_merged_in(entry))
        elif entry.action in _ATTEMPT_ACTIONS and entry.actor == "system" and entry.at in attempt_times:
            beside[entry.at] = entry
        else:
            moments.append(_shown(from_entry(entry, kind=_KINDS.get(entry.action)), viewer))
    for number, attempt in enumerate(attempts, start=1):
        moments += _attempt(number, attempt, beside.get(attempt.attempted_at), viewer)
    if notice.enqueued_at is not None:
        moments.append(Moment(notice.enqueued_at, "queued", "handed to the delivery queue", "system", own))
    if notice.status == NoticeStatus.SENDING and notice.claimed_at is not None:
        # Claimed, and no attempt recorded for this claim yet: sending now, or a worker that died.
        moments.append(Moment(notice.claimed_at, "claimed", "claimed by a worker; no answer recorded", "system", own))
    opted_out = records.opt_outs_since(session, notice.customer_id, channel=notice.channel, since=notice.created_at)
    moments += [from_entry(e, kind="opted_out") for e in opted_out]
    return in_order(moments)


def _merged_in(entry: AuditEntry) -> Moment:
    merged_id = entry.subject.removeprefix("notice:")
    return Moment(
        entry.at,
        "merged_in",
        f"now also carries the news of notice {merged_id}",
        entry.actor,
        entry.subject,
        entry.seq,
        dict(entry.details),
    )


def _attempt(number: int, attempt: DeliveryAttempt, decision: AuditEntry | None, viewer: Viewer) -> list[Moment]:
    subject = f"notice:{attempt.notice_id}"
    moments = []
    if attempt.claimed_at is not None:
        moments.append(
            Moment(attempt.claimed_at, "claimed", f"claimed by a worker for attempt {number}", "system", subject)
        )
    answer = show_text(attempt.error, viewer)
    said = _ANSWERS.get(attempt.outcome, attempt.outcome)
    summary = f"attempt {number}: {said}" + (f" ({answer})" if answer else "")
    if attempt.provider_id:
        summary += f", provider id {attempt.provider_id}"
    details: dict[str, Any] = {
        "attempt": number,
        "outcome": attempt.outcome,
        "provider_id": attempt.provider_id,
        "answer": answer,
    }
    if decision is not None:
        details.update({k: v for k, v in decision.details.items() if k in ("retry_at", "address_suppressed")})
        if decision.action == "notice.retry_scheduled":
            summary += f"; trying again at {decision.details.get('retry_at')}"
    seq = decision.seq if decision is not None else None
    moments.append(Moment(attempt.attempted_at, "attempt", summary, "system", subject, seq, details))
    return moments


def _shown(moment: Moment, viewer: Viewer) -> Moment:
    """A moment whose free text may quote an address (a provider's refusal), masked unless revealed."""
    reason = moment.details.get("reason")
    if not isinstance(reason, str) or viewer.reveal:
        return moment
    masked = show_text(reason, viewer) or ""
    return Moment(
        moment.at,
        moment.kind,
        moment.summary.replace(reason, masked),
        moment.actor,
        moment.subject,
        moment.seq,
        {**moment.details, "reason": masked},
    )


def why(session: Session, notice: Notice) -> dict[str, Any]:
    """The situation, the rule that raises its kind, the reason it gave, and the events that led there."""
    situation = session.get(Situation, notice.situation_id)
    if situation is None:
        return {"situation": None, "rule": None, "reason": None, "story": [], "events": []}
    story = [
        from_entry(e)
        for e in records.entries_about(session, [f"situation:{situation.id}"])
        if e.action.startswith("situation.")
    ]
    stated = [m for m in story if m.at <= notice.created_at and m.details.get("reason")]
    return {
        "situation": _situation(situation),
        "rule": _rule(notice.situation if notice.situation == SituationKind.DIGEST else situation.kind),
        "reason": stated[-1].details["reason"] if stated else None,
        "story": [m.as_json() for m in story],
        "events": [describe_event(e) for e in _events(session, situation, notice)],
    }


def _events(session: Session, situation: Situation, notice: Notice) -> list[Any]:
    if situation.order_id:
        return records.order_events(session, situation.order_id, before=notice.created_at)
    incident = session.get(Incident, situation.incident_id) if situation.incident_id else None
    return records.incident_events(session, incident, before=notice.created_at) if incident else []


def _situation(situation: Situation) -> dict[str, Any]:
    return {
        "id": situation.id,
        "kind": situation.kind,
        "status": situation.status,
        "subject": situation.subject_key,
        "order_id": situation.order_id,
        "incident_id": situation.incident_id,
        "opened_at": format_instant(situation.opened_at),
        "resolved_at": format_instant(situation.resolved_at) if situation.resolved_at else None,
        "details": situation.details,
    }


def _rule(kind: str) -> dict[str, Any] | None:
    if kind == SituationKind.DIGEST:
        return {
            "name": "daily limit",
            "module": "engine.delivery.capping",
            "summary": "more news than the daily limit allows, merged into one message",
        }
    for rule in RULES:
        if kind in rule.kinds:
            return {"name": rule.name, "module": rule.module, "summary": rule.summary}
    return None


def sent_html(session: Session, notice_id: int) -> str | None:
    """An email notice's HTML part exactly as rendered (for the console's sandboxed frame), or None."""
    notice = session.get(Notice, notice_id)
    return notice.html if notice is not None and notice.html else None
