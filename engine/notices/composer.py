"""Compose a notice's words: the active template in the customer's language, the context, the render.

One composer serves a whole batch (a fan-out's 2,000 customers, or the one customer of an order
warning) and every later re-render (a held notice worded again for the morning it goes out, a
merged message, a digest): templates are resolved once per batch, and renderings are shared through
a `RenderMemo` (customers who share what a template reads share its output; each still gets their
own unsubscribe link).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from engine.care.desk import Care
from engine.compose.context import SituationFacts, build_context
from engine.compose.memo import RenderMemo
from engine.compose.store import ResolvedTemplate
from engine.errors import TemplateError
from engine.models import Incident, Notice, Order, Shipment, Situation
from engine.models.customers import Recipient
from engine.notices.repository import texted_numbers
from engine.preferences.unsubscribe import unsubscribe_url
from engine.promises.choose import renewed
from engine.promises.expect import likely_delivery
from engine.runtime import Runtime
from engine.state.orders import latest_shipment
from engine.vocabulary import Channel, SituationKind, SituationStatus, Stage


@dataclass(frozen=True)
class Subject:
    """What a notice is about; any of these may be absent."""

    order: Order | None = None
    shipment: Shipment | None = None
    incident: Incident | None = None

    @property
    def order_id(self) -> str | None:
        return self.order.id if self.order else None

    @property
    def incident_id(self) -> str | None:
        return self.incident.id if self.incident else None


def subject_for(session: Session, situation: Situation) -> Subject:
    """What a situation is about, read back from the database (for a notice worded again later)."""
    order = session.get(Order, situation.order_id) if situation.order_id else None
    # The notice does not record which parcel it was about; the latest scanned one is the best guess.
    shipment = latest_shipment(session, order.id) if order is not None else None
    incident = session.get(Incident, situation.incident_id) if situation.incident_id else None
    return Subject(order=order, shipment=shipment, incident=incident)


@dataclass(frozen=True)
class Composed:
    """A notice's rendered parts and the template version that made them."""

    template: str
    locale: str
    subject: str | None
    body: str
    html: str | None
    template_version_id: int | None = None


class Composer:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.memo = RenderMemo()
        self._templates: dict[tuple[str, str, str, str], ResolvedTemplate | TemplateError] = {}

    def forget_templates(self) -> None:
        """A template saved meanwhile applies from the next batch on."""
        self._templates.clear()

    def template(
        self, session: Session, *, kind: SituationKind, stage: Stage, channel: Channel, locale: str
    ) -> ResolvedTemplate:
        """The active template for these, resolved once per batch (a missing one fails once, too)."""
        key = (kind, stage, channel, locale)
        found = self._templates.get(key)
        if found is None:
            try:
                found = self.rt.templates.resolve(session, situation=kind, stage=stage, channel=channel, locale=locale)
            except TemplateError as exc:
                found = exc
            self._templates[key] = found
        if isinstance(found, TemplateError):
            raise found
        return found

    def compose(
        self,
        session: Session,
        *,
        kind: SituationKind,
        stage: Stage,
        channel: Channel,
        customer: Recipient,
        situation: SituationFacts,
        subject: Subject,
        now: datetime,
        first_sms: bool = False,
        next_update_at: datetime | None = None,
        check_in: bool = False,
        extra: dict[str, Any] | None = None,
        locale: str | None = None,
        care: Care | None = None,
    ) -> Composed:
        """Render one notice as of `now` (worded for when it is read). Raises TemplateError.

        A follow-up's subject is its own news, never "Re: <the first email's subject>", which would repeat
        news that may no longer be true; it stays in the conversation by its In-Reply-To and References
        headers (docs/delivery.md §8). `extra` adds to the context (a digest's items); `locale` overrides the
        customer's (a preview for staff).
        """
        resolved = self.template(session, kind=kind, stage=stage, channel=channel, locale=locale or customer.locale)
        context = build_context(
            settings=self.rt.settings,
            customer=customer,
            situation=situation,
            stage=stage,
            locale=resolved.locale,
            now=now,
            order=subject.order,
            shipment=subject.shipment,
            incident=subject.incident,
            next_update_at=next_update_at,
            check_in=check_in,
            first_sms=first_sms,
            unsubscribe_url=unsubscribe_url(self.rt.settings, customer.id) if channel == Channel.EMAIL else None,
            repeat=care.repeat if care else False,
            history=care.history if care else None,
            remedy=care.remedy if care else None,
            care_task=care.care_task if care else None,
        )
        if extra:
            context.update(extra)
        rendered = self.memo.render(
            resolved.sources, context, channel=channel, locale=resolved.locale, timezone=customer.timezone
        )
        return Composed(
            resolved.label, resolved.locale, rendered.subject, rendered.text, rendered.html, resolved.version_id
        )

    def recompose(
        self,
        session: Session,
        notice: Notice,
        *,
        situation: Situation,
        customer: Recipient,
        now: datetime,
        not_texted_by: Collection[int] = (),
    ) -> None:
        """Word a pending notice again as of `now` (it waited for hours: "tomorrow" may be today by now).

        Raises TemplateError, leaving the notice as it was. `not_texted_by`: pending texts that do not
        count as an earlier text to the number (those merged into this one), for the STOP line.
        """
        first_sms = notice.channel == Channel.SMS and not texted_numbers(
            session, [notice.recipient], excluding=not_texted_by
        )
        subject = subject_for(session, situation)
        promise = notice.next_update_at
        if promise is not None:  # a promise about to come due is made again, as of now (engine/promises)
            promise = renewed(
                promise,
                now=now,
                kind=situation.kind,
                opened_at=situation.opened_at,
                timezone=customer.timezone,
                quiet=customer.quiet_hours or self.rt.settings.quiet_hours,
                estimate=subject.shipment.estimated_delivery_at if subject.shipment is not None else None,
                likely=likely_delivery(session, self.rt, subject.shipment, now=now),
                due=subject.order.promised_by if subject.order is not None else None,
            )
        composed = self.compose(
            session,
            kind=situation.kind,
            stage=notice.stage,
            channel=notice.channel,
            customer=customer,
            situation=situation,
            subject=subject,
            now=now,
            first_sms=first_sms,
            next_update_at=promise,
        )
        apply(notice, composed)
        if promise is not None and promise != notice.next_update_at:
            notice.next_update_at = promise
            if situation.status == SituationStatus.OPEN:
                outstanding = situation.next_update_at
                situation.next_update_at = promise if outstanding is None else max(promise, outstanding)


def apply(notice: Notice, composed: Composed) -> None:
    notice.template, notice.locale = composed.template, composed.locale
    notice.template_version_id = composed.template_version_id
    notice.subject, notice.body, notice.html = composed.subject, composed.body, composed.html
