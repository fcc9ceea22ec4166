"""The digest: one message carrying several threads' news (orders, incidents) to one customer.

Rendered from the `digest/merged` templates with the usual context plus `digest.items`: one entry per
thread, oldest news first, each with the fields a single-thread message would get (docs/templates.md).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session

from engine.compose.context import build_context, digest_item
from engine.models import Customer, Notice, Situation
from engine.notices.composer import Composer, Subject, apply, subject_for
from engine.notices.repository import texted_numbers
from engine.runtime import Runtime
from engine.vocabulary import Channel, SituationKind, Stage


def render_digest(
    session: Session,
    rt: Runtime,
    digest: Notice,
    *,
    customer: Customer,
    threads: Sequence[Sequence[Notice]],
    situations: dict[int, Situation],
    now: datetime,
    not_texted_by: Collection[int],
) -> None:
    """Fill the digest's template, subject and body. Raises TemplateError."""
    composer = Composer(rt)
    locale = composer.template(
        session, kind=SituationKind.DIGEST, stage=Stage.MERGED, channel=digest.channel, locale=customer.locale
    ).locale
    items = [_item(session, rt, customer, group, situations, locale=locale, now=now) for group in threads]
    composed = composer.compose(
        session,
        kind=SituationKind.DIGEST,
        stage=Stage.MERGED,
        channel=digest.channel,
        customer=customer,
        situation=situations[threads[0][-1].situation_id],
        subject=Subject(),
        now=now,
        first_sms=digest.channel == Channel.SMS
        and not texted_numbers(session, [digest.recipient], excluding=not_texted_by),
        extra={
            "situation": {
                "kind": SituationKind.DIGEST,
                "stage": Stage.MERGED,
                "opened_at": min(situations[group[0].situation_id].opened_at for group in threads),
            },
            "digest": {"count": len(items), "items": items},
        },
    )
    apply(digest, composed)


def _item(
    session: Session,
    rt: Runtime,
    customer: Customer,
    group: Sequence[Notice],
    situations: dict[int, Situation],
    *,
    locale: str,
    now: datetime,
) -> dict[str, Any]:
    """One thread: its newest news, at the stage the customer is at (their first word if `initial`)."""
    situation = situations[group[-1].situation_id]
    subject = subject_for(session, situation)
    single = build_context(
        settings=rt.settings,
        customer=customer,
        situation=situation,
        stage=group[0].stage,
        locale=locale,
        now=now,
        order=subject.order,
        shipment=subject.shipment,
        incident=subject.incident,
    )
    return digest_item(single, kind=situation.kind, stage=group[0].stage)
