"""What a status page shows: read from the engine's rows, no personal data beyond the first name.

`order_page` — the order, what happened (from its newest situation and its parcel), the latest estimate,
what we are doing (a care task, or watching), when we'll write again (the situation's `next_update_at`
when one is set). `incident_page` — the incident's services and how bad it is. `customer_page` — the
customer's open orders, each with its own page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from engine.clock import parse_instant
from engine.compose.context import describe_items
from engine.compose.formatting import formatter
from engine.compose.incidents import customer_name
from engine.config import Settings
from engine.links.build import address_url, safe_link, status_url
from engine.links.tokens import Page
from engine.links.words import words_for
from engine.models import CareTask, Customer, Incident, Order, Situation
from engine.state.orders import latest_shipment
from engine.vocabulary import CareTaskStatus, SituationKind, SituationStatus


@dataclass
class View:
    """A page: its language, title, greeting, paragraphs, and links (label, url)."""

    locale: str
    title: str
    greeting: str | None = None
    lines: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    footer: str | None = None


def order_page(session: Session, settings: Settings, order_id: str, *, now: datetime) -> View | None:
    order = session.get(Order, order_id)
    if order is None:
        return None
    customer = session.get(Customer, order.customer_id)
    locale = customer.locale if customer else "en"
    zone = customer.timezone if customer else "UTC"
    words, fmt = words_for(locale), formatter(locale, zone)
    names = [str(line.get("name", "")).strip() for line in order.lines if str(line.get("name", "")).strip()]
    view = View(locale, words["order"].format(id=order.id))
    if customer and customer.first_name:
        view.greeting = words["hi"].format(name=customer.first_name)
    if names:
        view.lines.append(words["items"].format(items=describe_items(names, locale)))
    shipment = latest_shipment(session, order.id)
    situations = session.exec(
        select(Situation)
        .where(Situation.order_id == order.id, Situation.customer_id == order.customer_id)
        .order_by(col(Situation.updated_at).desc())
    ).all()
    open_ = [s for s in situations if s.status == SituationStatus.OPEN]
    now_words = words["now"]
    if order.canceled_at:
        view.lines.append(now_words["canceled"])
    elif order.delivered_at or (shipment and shipment.delivered_at):
        delivered = order.delivered_at or (shipment.delivered_at if shipment else None)
        view.lines.append(now_words["delivered"].format(when=fmt.date(delivered)))
        if _task_open(session, [s.id for s in situations]):  # a damaged parcel's: the follow-up is still owed
            view.lines.append(words["team"])
    else:
        if open_:
            kind = open_[0].kind
            problem = shipment.exception if shipment and kind == SituationKind.SHIPMENT_EXCEPTION else None
            if shipment and shipment.status == "lost":
                problem = "lost"
            view.lines.append(now_words.get(problem or "", now_words.get(kind, now_words["fine"])))
        else:
            view.lines.append(now_words["fine"])
        if shipment and shipment.estimated_delivery_at:
            view.lines.append(words["estimate"].format(when=fmt.date(shipment.estimated_delivery_at)))
        elif order.promised_by:
            view.lines.append(words["promised"].format(when=fmt.date(order.promised_by)))
        if open_:
            view.lines.append(words["team"] if _task_open(session, [s.id for s in open_]) else words["watching"])
            promised = _next_update(open_[0].details)
            if promised is not None and promised > now:
                view.lines.append(words["next"].format(when=fmt.when(promised, now)))
        if shipment and shipment.exception == "address" and shipment.status == "exception":
            view.links.append((words["address"], address_url(settings.public_url, settings.secret_key, order.id)))
        tracking = safe_link(order.tracking_url)
        if tracking:
            view.links.append((shipment.carrier.upper() if shipment and shipment.carrier else "→", tracking))
    view.footer = words["help"].format(email=settings.support_email)
    return view


def _task_open(session: Session, situation_ids: list[int | None]) -> bool:
    found = session.exec(
        select(CareTask.id)
        .where(col(CareTask.situation_id).in_(situation_ids))
        .where(CareTask.status == CareTaskStatus.OPEN)
    ).first()
    return found is not None


def incidents_page(session: Session, settings: Settings, *, locale: str, now: datetime) -> View:
    """The public status page: every open incident, and those resolved in the last day."""
    words = words_for(locale)
    view = View(locale, words["incident"])
    rows = session.exec(
        select(Incident)
        .where(col(Incident.resolved_at).is_(None) | (col(Incident.resolved_at) >= now - timedelta(days=1)))
        .order_by(col(Incident.started_at).desc())
        .limit(20)
    ).all()
    for incident in rows:
        view.lines.extend(_incident_lines(incident, settings, locale)[:1])
    if not rows:
        view.lines.append(words["statuses_fine"])
    view.footer = words["help"].format(email=settings.support_email)
    return view


def incident_page(session: Session, settings: Settings, incident_id: str, *, locale: str) -> View | None:
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    words = words_for(locale)
    view = View(locale, words["incident"], lines=_incident_lines(incident, settings, locale))
    view.footer = words["help"].format(email=settings.support_email)
    return view


def _incident_lines(incident: Incident, settings: Settings, locale: str) -> list[str]:
    words = words_for(locale)
    lines: list[str] = []
    names = [customer_name(name, locale, settings.component_names) for name in incident.components]
    status = "operational" if incident.resolved_at else incident.status
    phrase = words["statuses"].get(status, words["statuses"]["partial_outage"])
    joined = "、".join(names) if locale.startswith("ja") else ", ".join(names)
    lines.append(f"{joined} {phrase}." if not locale.startswith("ja") else f"{joined}{phrase}。")
    if not incident.resolved_at:
        lines.append(words["watching"])
    return lines


def customer_page(session: Session, settings: Settings, customer_id: str) -> View | None:
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    words = words_for(customer.locale)
    view = View(customer.locale, words["matters"])
    if customer.first_name:
        view.greeting = words["hi"].format(name=customer.first_name)
    order_ids = session.exec(
        select(Situation.order_id)
        .where(Situation.customer_id == customer_id, Situation.status == SituationStatus.OPEN)
        .where(col(Situation.order_id).is_not(None))
        .distinct()
    ).all()
    for order_id in sorted(o for o in order_ids if o):
        view.links.append(
            (
                words["order"].format(id=order_id),
                status_url(settings.public_url, settings.secret_key, Page.ORDER, order_id),
            )
        )
    if not view.links:
        view.lines.append(words["none"])
    view.footer = words["help"].format(email=settings.support_email)
    return view


def _next_update(details: dict[str, Any]) -> datetime | None:
    value = details.get("next_update_at") if isinstance(details, dict) else None
    if isinstance(value, str):
        try:
            return parse_instant(value)
        except ValueError:
            return None
    return value if isinstance(value, datetime) else None
