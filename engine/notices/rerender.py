"""For the template editor: a real notice's context (to re-render it with a draft, side by side with what
was sent) and "send a test to me" through the real channels.

A notice's context is rebuilt from the rows as they are now (the order, its latest shipment, the incident)
at the moment the notice was worded for (`send_at`): close to what the customer got, not a snapshot of it.
That is why the editor shows what was actually sent beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from engine import audit
from engine.compose.context import build_context
from engine.compose.preview import Preview
from engine.delivery.channel import OutboundMessage, SendResult
from engine.models import Customer, Notice, Situation
from engine.notices.composer import subject_for
from engine.preferences.unsubscribe import unsubscribe_url
from engine.runtime import Runtime
from engine.staff.accounts import Principal
from engine.vocabulary import REACHED, Channel, SituationKind


class NoContext(LookupError):
    """The notice cannot be re-rendered (unknown, a digest, its customer or situation gone)."""


@dataclass(frozen=True)
class NoticeContext:
    notice_id: int
    context: dict[str, Any]
    timezone: str
    sent: dict[str, str | None]  # what the customer got: subject, text, html


def _texted_before(session: Session, notice: Notice) -> bool:
    earlier = session.exec(
        select(Notice.id).where(
            Notice.recipient == notice.recipient,
            Notice.channel == Channel.SMS,
            col(Notice.id) < (notice.id or 0),
            col(Notice.status).in_(list(REACHED)),
        )
    ).first()
    return earlier is not None


def notice_context(session: Session, rt: Runtime, notice_id: int) -> NoticeContext:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NoContext(f"no notice {notice_id}")
    if notice.situation == SituationKind.DIGEST:
        raise NoContext(f"notice {notice_id} is a digest of several threads: preview the digest with a sample")
    situation = session.get(Situation, notice.situation_id)
    customer = session.get(Customer, notice.customer_id)
    if situation is None or customer is None:
        raise NoContext(f"notice {notice_id}'s customer or situation is gone")
    subject = subject_for(session, situation)
    next_update = situation.details.get("next_update_at") if isinstance(situation.details, dict) else None
    context = build_context(
        settings=rt.settings,
        customer=customer,
        situation=situation,
        stage=notice.stage,
        locale=notice.locale,
        now=notice.send_at,
        order=subject.order,
        shipment=subject.shipment,
        incident=subject.incident,
        next_update_at=next_update if not isinstance(next_update, str) else None,
        first_sms=notice.channel == Channel.SMS and not _texted_before(session, notice),
        repeat=False,
        unsubscribe_url=unsubscribe_url(rt.settings, customer.id) if notice.channel == Channel.EMAIL else None,
    )
    sent = {"subject": notice.subject, "text": notice.body, "html": notice.html}
    return NoticeContext(notice_id, context, customer.timezone, sent)


class CannotSendTest(ValueError):
    pass


def send_test(
    session: Session, rt: Runtime, who: Principal, *, channel: Channel, rendered: Preview, template: str, sample: str
) -> SendResult:
    """Send the rendered preview to the staff member themselves, through the channel's real adapter."""
    from engine.models import StaffUser

    user = session.get(StaffUser, who.user_id) if who.user_id is not None else None
    if user is None:
        raise CannotSendTest("the admin machine token has no address to send a test to")
    recipient = user.email if channel == Channel.EMAIL else user.phone
    if not recipient:
        raise CannotSendTest("your account has no mobile number for test texts (an admin can add one)")
    body = rendered.sms if channel == Channel.SMS else rendered.text
    if rendered.errors or not body:
        raise CannotSendTest("fix the errors first: the draft does not render")
    adapter = rt.channels.get(channel)
    if adapter is None:
        raise CannotSendTest(f"no {channel} channel is configured")
    message = OutboundMessage(
        notice_id=0,
        channel=channel,
        recipient=recipient,
        body=body,
        subject=f"[Test] {rendered.subject}" if rendered.subject else None,
        html=rendered.html,
        headers={"X-Forewarn-Test": template},
    )
    result = adapter.send(message)
    audit.append(
        session,
        at=rt.clock.now(),
        actor=who.actor,
        action="template.test_sent",
        subject=f"staff:{user.id}",
        details={
            "template": template,
            "channel": channel,
            "sample": sample,
            "ok": result.ok,
            "error": result.error,
            "address": who.address,
        },
    )
    return result
