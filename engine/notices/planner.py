"""Turn a situation's new stage into notice rows: consent, quiet hours, template, outbox."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from engine import audit
from engine.audit import Entry
from engine.channels import ChannelName
from engine.compose.context import build_context
from engine.compose.render import render_message
from engine.config import Settings
from engine.errors import TemplateError
from engine.models import ChannelSuppression, Customer, Incident, Notice, NoticeStatus, Order, Shipment, Situation
from engine.notices import repository
from engine.notices.threading import reply_subject
from engine.policy.channels import Routing, routes_for
from engine.policy.quiet_hours import defer
from engine.runtime import Runtime, enqueue_after_commit
from engine.suppressions import service as suppressions
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
    suppressed = suppressions.for_customer(session, customer)
    routing = routes_for(customer, {channel: suppressions.describe(row) for channel, row in suppressed.items()})
    routes = [r for r in routing.routes if only_channels is None or r.channel in only_channels]
    skipped = suppressed_entries(
        at=now,
        situation_id=situation.id,
        stage=stage,
        customer_id=customer.id,
        routing=routing,
        routed=bool(routes),
        suppressed=suppressed,
        only_channels=only_channels,
    )
    for entry in skipped:
        audit.append(
            session, at=entry.at, actor=entry.actor, action=entry.action, subject=entry.subject, details=entry.details
        )
    if not routes:
        return []
    thread = repository.in_thread(session, customer_id=customer.id, thread_key=situation.subject_key)
    # The thread's first email the customer got (or will get); a dropped, failed or merged one never
    # arrived under its own Message-ID, so a reply to it would thread under nothing.
    first_email = next(
        (n for n in thread if n.channel == "email" and n.message_id and n.status in repository.LIVE), None
    )
    planned: list[Notice] = []
    for route in routes:
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
            thread_subject=first_email.subject if first_email else None,
        )
        planned.append(notice)
    return planned


def suppressed_entries(
    *,
    at: datetime,
    situation_id: int | None,
    stage: str,
    customer_id: str,
    routing: Routing,
    routed: bool,
    suppressed: Mapping[str, ChannelSuppression],
    only_channels: Collection[str] | None,
) -> list[Entry]:
    """The `notice.suppressed` audit entries for one customer and stage (`plan_notices` and a fan-out).

    With no channel left (`routed` false), one entry says why none goes. Otherwise the other channels
    still go, and each channel skipped for a suppression gets an entry, so staff can see why on the
    timeline. The action, subject and details keys are the audit log format staff rely on.
    """

    def entry(**details: object) -> Entry:
        return Entry(
            at=at,
            actor="system",
            action="notice.suppressed",
            subject=f"situation:{situation_id}",
            details={"stage": stage, "customer_id": customer_id, **details},
        )

    if not routed:
        return [entry(reason="; ".join(routing.skipped.values()) or "customer consented to no channel we use")]
    return [
        entry(channel=channel, reason=routing.skipped.get(channel, suppressions.describe(row)), suppression_id=row.id)
        for channel, row in suppressed.items()
        if only_channels is None or channel in only_channels
    ]


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
    thread_subject: str | None = None,
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
        render_notice(
            session,
            rt,
            notice,
            situation=situation,
            customer=customer,
            subject=subject,
            now=send_at,  # worded for when it is read: a text held overnight says "tomorrow" of the right day
            next_update_at=next_update_at,
            thread_subject=thread_subject,
        )
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


def render_notice(
    session: Session,
    rt: Runtime,
    notice: Notice,
    *,
    situation: Situation,
    customer: Customer,
    subject: Subject,
    now: datetime,
    next_update_at: datetime | None = None,
    thread_subject: str | None = None,
    not_texted_by: Collection[int] = (),
) -> None:
    """Fill the notice's template, subject and body for its situation, stage and channel, as of `now`.

    Raises TemplateError. `not_texted_by`: pending notices that do not count as an earlier text to the
    number (those being merged into this one), for the STOP line on the first text.
    """
    channel: ChannelName = "sms" if notice.channel == "sms" else "email"
    resolved = rt.templates.resolve(
        session, situation=situation.kind, stage=notice.stage, channel=channel, locale=customer.locale
    )
    context = build_context(
        settings=rt.settings,
        customer=customer,
        situation=situation,
        stage=notice.stage,
        locale=resolved.locale,
        now=now,
        order=subject.order,
        shipment=subject.shipment,
        incident=subject.incident,
        next_update_at=next_update_at,
        first_sms=channel == "sms"
        and not repository.has_texted(session, recipient=notice.recipient, excluding=not_texted_by),
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
    if channel == "email" and notice.in_reply_to and thread_subject:
        notice.subject = reply_subject(thread_subject)[:500]  # same conversation in every mail client


def subject_for(session: Session, situation: Situation) -> Subject:
    """What a situation is about, read back from the database (for a notice rendered again later)."""
    order = session.get(Order, situation.order_id) if situation.order_id else None
    shipment = None
    if order is not None:
        # The notice does not record which parcel it was about; the latest scanned one is the best guess.
        shipment = session.exec(
            select(Shipment)
            .where(Shipment.order_id == order.id)
            .order_by(col(Shipment.updated_at).desc(), col(Shipment.id).desc())
            .limit(1)
        ).first()
    incident = session.get(Incident, situation.incident_id) if situation.incident_id else None
    return Subject(order=order, shipment=shipment, incident=incident)


def _message_id(rt: Runtime, notice: Notice) -> str:
    """The Message-ID an email notice goes out with (needs the notice's id: flush first)."""
    return message_id_for(
        rt.settings, notice_id=notice.id or 0, thread_key=notice.thread_key, customer_id=notice.customer_id
    )


def message_id_for(settings: Settings, *, notice_id: int, thread_key: str, customer_id: str) -> str:
    """The email's Message-ID; the bulk planner (engine/notices/bulk.py) makes the same ones."""
    sender = settings.email_from
    domain = sender.rsplit("@", 1)[-1].strip("> ") if "@" in sender else "localhost"
    token = hashlib.sha256(f"{thread_key}:{customer_id}".encode()).hexdigest()[:12]
    return f"notice-{notice_id}.{token}@{domain}"
