"""The digest: one message carrying several threads' news (orders, incidents) to one customer.

Rendered from the `digest/merged` templates with the usual context plus `digest.items`: one entry per
thread, oldest news first, each with the fields a single-thread message would get (docs/templates.md).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session

from engine.channels import ChannelName
from engine.compose.context import build_context
from engine.compose.render import render_message
from engine.compose.seeds import DIGEST, DIGEST_STAGE
from engine.models import Customer, Notice, Situation
from engine.notices import repository
from engine.notices.planner import subject_for
from engine.runtime import Runtime
from engine.unsubscribe import unsubscribe_url

ITEM_LINKS = ("tracking", "order", "status_page")


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
    channel: ChannelName = "sms" if digest.channel == "sms" else "email"
    resolved = rt.templates.resolve(
        session, situation=DIGEST, stage=DIGEST_STAGE, channel=channel, locale=customer.locale
    )
    items = [_item(session, rt, customer, group, situations, locale=resolved.locale, now=now) for group in threads]
    lead = situations[threads[0][-1].situation_id]
    context = build_context(
        settings=rt.settings,
        customer=customer,
        situation=lead,
        stage=DIGEST_STAGE,
        locale=resolved.locale,
        now=now,
        first_sms=channel == "sms"
        and not repository.has_texted(session, recipient=digest.recipient, excluding=not_texted_by),
        unsubscribe_url=unsubscribe_url(rt.settings, customer.id) if channel == "email" else None,
    )
    context["situation"] = {
        "kind": DIGEST,
        "stage": DIGEST_STAGE,
        "opened_at": min(situations[group[0].situation_id].opened_at for group in threads),
    }
    context["digest"] = {"count": len(items), "items": items}
    rendered = render_message(
        resolved.sources, context, channel=channel, locale=resolved.locale, timezone=customer.timezone
    )
    digest.template, digest.locale = resolved.label, resolved.locale
    digest.subject, digest.body, digest.html = rendered.subject, rendered.text, rendered.html


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
    return {
        "kind": situation.kind,
        "stage": group[0].stage,
        "order": single["order"],
        "shipment": single["shipment"],
        "incident": single["incident"],
        "links": {name: single["links"][name] for name in ITEM_LINKS},
        "opened_at": situation.opened_at,
    }
