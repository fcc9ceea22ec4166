"""Turn a situation's new stage into notice rows: consent, quiet hours, template, outbox."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from engine import audit
from engine.channels import ChannelName
from engine.compose.context import build_context
from engine.compose.render import render_message
from engine.config import Settings
from engine.errors import TemplateError
from engine.models import Customer, Incident, Notice, NoticeStatus, Order, Shipment, Situation
from engine.notices import repository
from engine.policy.channels import routes_for
from engine.policy.quiet_hours import defer
from engine.runtime import Runtime, enqueue_after_commit
from engine.unsubscribe import unsubscribe_url

DELIVER_ACTOR = "notices.deliver"


@dataclass(frozen=True)
class Subject:
    """What a notice is about; any of these may be absent."""

    order: Order | None = None
    shipment: Shipment | None = None
    incident: Incident | None = None


def plan_notices(
    session: Session,
    rt: Runtime,
    *,
    situation: Situation,
    stage: str,
    customer: Customer,
    subject: Subject,
    only_channels: set[str] | None = None,
    next_update_at: datetime | None = None,
) -> list[Notice]:
    now = rt.clock.now()
    routing = routes_for(customer)
    routes = [r for r in routing.routes if only_channels is None or r.channel in only_channels]
    if not routes:
        audit.append(
            session,
            at=now,
            actor="system",
            action="notice.suppressed",
            subject=f"situation:{situation.id}",
            details={
                "stage": stage,
                "customer_id": customer.id,
                "reason": "; ".join(routing.skipped.values()) or "customer consented to no channel we use",
            },
        )
        return []
    thread = repository.in_thread(session, customer_id=customer.id, thread_key=situation.subject_key)
    planned: list[Notice] = []
    for route in routes:
        first_email = next((n for n in thread if n.channel == "email" and n.message_id), None)
        notice = _compose(
            session,
            rt,
            situation=situation,
            stage=stage,
            customer=customer,
            subject=subject,
            channel=route.channel,
            recipient=route.recipient,
            now=now,
            next_update_at=next_update_at,
            in_reply_to=first_email.message_id if first_email else None,
        )
        planned.append(notice)
    return planned


def _compose(
    session: Session,
    rt: Runtime,
    *,
    situation: Situation,
    stage: str,
    customer: Customer,
    subject: Subject,
    channel: ChannelName,
    recipient: str,
    now: datetime,
    next_update_at: datetime | None,
    in_reply_to: str | None,
) -> Notice:
    send_at = now
    if channel == "sms":
        send_at = defer(now, timezone=customer.timezone, window=customer.quiet_hours or rt.settings.quiet_hours)
    notice = Notice(
        situation_id=situation.id or 0,
        customer_id=customer.id,
        order_id=situation.order_id,
        incident_id=situation.incident_id,
        thread_key=situation.subject_key,
        situation=situation.kind,
        stage=stage,
        channel=channel,
        recipient=recipient,
        locale=customer.locale,
        template="",
        body="",
        send_at=send_at,
        deferred=send_at > now,
        in_reply_to=in_reply_to,
        created_at=now,
    )
    try:
        resolved = rt.templates.resolve(
            session, situation=situation.kind, stage=stage, channel=channel, locale=customer.locale
        )
        context = build_context(
            settings=rt.settings,
            customer=customer,
            situation=situation,
            stage=stage,
            locale=resolved.locale,
            now=now,
            order=subject.order,
            shipment=subject.shipment,
            incident=subject.incident,
            next_update_at=next_update_at,
            first_sms=channel == "sms" and not repository.has_texted(session, recipient=recipient),
            unsubscribe_url=unsubscribe_url(rt.settings, customer.id) if channel == "email" else None,
        )
        rendered = render_message(
            resolved.sources,
            context,
            channel=channel,
            locale=resolved.locale,
            timezone=customer.timezone,
        )
        notice.template, notice.locale = resolved.label, resolved.locale
        notice.subject, notice.body, notice.html = rendered.subject, rendered.text, rendered.html
    except TemplateError as exc:
        # Nothing is lost: the failure is on the row for staff to see, fix and resend.
        notice.status, notice.status_reason = NoticeStatus.FAILED, f"template error: {exc}"[:500]
    session.add(notice)
    session.flush()
    if channel == "email":
        notice.message_id = _message_id(rt, notice)
    audit.append(
        session,
        at=now,
        actor="system",
        action="notice.failed"
        if notice.status == NoticeStatus.FAILED
        else ("notice.deferred" if notice.deferred else "notice.planned"),
        subject=f"notice:{notice.id}",
        details={
            "situation": situation.kind,
            "stage": stage,
            "channel": channel,
            "customer_id": customer.id,
            "send_at": send_at,
            "template": notice.template,
            "reason": notice.status_reason or ("recipient's quiet hours" if notice.deferred else None),
        },
    )
    if notice.status == NoticeStatus.PENDING and not notice.deferred:
        notice.enqueued_at = now
        enqueue_after_commit(session, DELIVER_ACTOR, notice.id)
    return notice


def _message_id(rt: Runtime, notice: Notice) -> str:
    return message_id_for(
        rt.settings, notice_id=notice.id or 0, thread_key=notice.thread_key, customer_id=notice.customer_id
    )


def message_id_for(settings: Settings, *, notice_id: int, thread_key: str, customer_id: str) -> str:
    """The email's Message-ID; the bulk planner (engine/notices/bulk.py) makes the same ones."""
    sender = settings.email_from
    domain = sender.rsplit("@", 1)[-1].strip("> ") if "@" in sender else "localhost"
    token = hashlib.sha256(f"{thread_key}:{customer_id}".encode()).hexdigest()[:12]
    return f"notice-{notice_id}.{token}@{domain}"
