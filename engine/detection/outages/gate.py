"""The blast-radius gate: an outage with more followers than FOREWARN_FANOUT_APPROVAL is announced only
once staff approved it (`engine.brakes.approvals`); a declined one is never announced.

Staff decide from a preview: the English `initial` email the first follower would get, rendered from
the live template and the real context, exactly as the fan-out would.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from engine import audit
from engine.brakes import repository as approvals
from engine.brakes.approvals import request_approval
from engine.detection.outages.rule import KIND, incident_subject_key
from engine.errors import TemplateError
from engine.models import ApprovalStatus, Component, Customer, Incident
from engine.notices.composer import Composer, Subject
from engine.notices.planner import SituationRow
from engine.runtime import Runtime
from engine.state.subscriptions import count_subscribers, first_subscriber
from engine.vocabulary import Channel, Stage

PREVIEW_LOCALE = "en"


def cleared(session: Session, rt: Runtime, component: Component, incident: Incident, *, now: datetime) -> bool:
    """Whether the fan-out may start: small enough, or approved by staff.

    A big one asks for approval once per incident and component and stays due meanwhile; a declined one
    has its `notify_at` cleared, so nothing is sent about the spell.
    """
    approval = approvals.find(session, incident_id=incident.id, component=component.name)
    if approval is not None:
        if approval.status == ApprovalStatus.DECLINED:
            component.notify_at = None
            audit.append(
                session,
                at=now,
                actor="system",
                action="incident.not_announced",
                subject=f"incident:{incident.id}",
                details={"component": component.name, "reason": "fan-out declined", "approval_id": approval.id},
            )
        return approval.status == ApprovalStatus.APPROVED
    recipients = count_subscribers(session, component.name)  # one index-only count
    if recipients <= rt.settings.fanout_approval:
        return True
    first = first_subscriber(session, component.name)
    subject, text = preview(session, rt, first, incident, now=now) if first else (None, "")
    request_approval(
        session,
        incident_id=incident.id,
        component=component.name,
        recipients=recipients,
        preview_subject=subject,
        preview_text=text,
        now=now,
    )
    return False


def declined(session: Session, *, incident_id: str, component: str) -> bool:
    approval = approvals.find(session, incident_id=incident_id, component=component)
    return approval is not None and approval.status == ApprovalStatus.DECLINED


def preview(
    session: Session, rt: Runtime, customer: Customer, incident: Incident, *, now: datetime
) -> tuple[str | None, str]:
    """The English email the first recipient would get, rendered from the live template, for staff."""
    # Never written: it only feeds the template context.
    situation = SituationRow(0, KIND, incident_subject_key(incident.id), None, incident.id, now)
    try:
        composed = Composer(rt).compose(
            session,
            kind=KIND,
            stage=Stage.INITIAL,
            channel=Channel.EMAIL,
            customer=customer,
            situation=situation,
            subject=Subject(incident=incident),
            now=now,
            locale=PREVIEW_LOCALE,
        )
    except TemplateError as exc:
        return None, f"(no preview: {exc})"
    return (composed.subject or "")[:500] or None, composed.body
