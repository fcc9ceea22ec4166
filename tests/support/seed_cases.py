"""The matrix every seed template is rendered under: each situation, stage, locale and a set of contexts
(first and repeat, one item and several, no first name, long names, lost, on time after all, check-in, a care
task, a remedy, no links). Shared by the seed checklist, the promise tests and the golden files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from engine.compose import RenderedMessage, load_seed_templates, render_message, select_template_set
from engine.compose.context import describe_items
from engine.compose.facts import derive
from engine.compose.seeds import sample_context, sample_digest_context
from engine.detection.rules import RAISED_KINDS, SITUATION_STAGES
from engine.vocabulary import Channel
from support.paths import TEMPLATES
from support.words import LOCALES

SEEDS = load_seed_templates(TEMPLATES)
PROBLEMS = ("address", "customs", "damaged", "weather", "other", "lost", "returned")

Variant = Callable[[dict[str, Any], str], None]


def _long_values(ctx: dict[str, Any], locale: str) -> None:
    ctx["customer"]["first_name"] = "Maximiliano"
    ctx["customer"]["name"] = "Maximiliano Albuquerque de Vasconcelos"
    if ctx["order"]:
        names = ["Ergonomic mesh office chair with adjustable lumbar support", "Trail running shoes", "Tea"]
        ctx["order"].update(lines=[{"name": n, "quantity": 1} for n in names], id="A1000234567")
        ctx["order"]["items"] = describe_items(names, locale)
        ctx["order"]["items_title"] = ctx["order"]["items"][:1].upper() + ctx["order"]["items"][1:]
    if ctx["incident"]:
        ctx["incident"]["names"] = ["checkout", "payments", "order history", "gift cards"]
    if ctx["shipment"]:
        ctx["shipment"]["location"] = "Hebron, KY, US - UPS Worldport Distribution Center"


def _several_items(ctx: dict[str, Any], locale: str) -> None:
    if ctx["order"]:
        names = ["Trail running shoes", "Birthday gift set"]
        ctx["order"].update(lines=[{"name": n, "quantity": 1} for n in names])
        ctx["order"]["items"] = describe_items(names, locale)


def _accented_name(ctx: dict[str, Any], locale: str) -> None:
    # A name outside GSM-7 turns the whole SMS into UCS-2 (70 characters a segment): it must cost the item
    # list and the details, never the name.
    name = {"pt-BR": "Conceição", "es": "Lucía", "de": "Zoë", "ja": "佐藤"}.get(locale, "Zoë")
    ctx["customer"].update(first_name=name, name=name + " Souza")


def _no_estimate(ctx: dict[str, Any], locale: str) -> None:
    if ctx["shipment"]:
        ctx["shipment"].update(estimated_delivery_at=None, previous_estimated_delivery_at=None, location=None)


def _repeat(ctx: dict[str, Any], locale: str) -> None:
    ctx.update(repeat=True, first_sms=False, remedy={"code": "SORRY10", "description": "10% off your next order"})
    ctx["history"] = {"problems_30d": 2, "problems_90d": 3, "recent": []}


def _promise_passed(ctx: dict[str, Any], locale: str) -> None:
    if ctx["order"] and not ctx["order"]["delivered_at"]:
        ctx["order"]["promised_by"] = ctx["now"] - timedelta(hours=20)
    if ctx["shipment"] and ctx["shipment"]["estimated_delivery_at"] and not ctx["shipment"]["delivered_at"]:
        ctx["shipment"]["estimated_delivery_at"] = ctx["now"] + timedelta(hours=20)
        ctx["shipment"]["status"] = ctx["shipment"]["status"] if ctx["shipment"]["exception"] else "out_for_delivery"


def _major_outage(ctx: dict[str, Any], locale: str) -> None:
    if ctx["incident"]:
        ctx["incident"].update(status="major_outage", names=[], components=[], message="Card payments fail.")
        ctx["incident"].update(news="Card payments fail.", news_local="Card payments fail." if locale == "en" else None)
        if ctx["situation"]["stage"] == "update":
            ctx["incident"]["previous_status"] = "degraded_performance"
    ctx["next_update_at"] = None
    ctx["links"]["unsubscribe"] = None


def _unknown_carrier(ctx: dict[str, Any], locale: str) -> None:
    if ctx["shipment"]:
        ctx["shipment"].update(carrier="", carrier_name="the carrier" if locale == "en" else "")


def _no_first_name(ctx: dict[str, Any], locale: str) -> None:
    ctx["customer"].update(first_name="", name="")


def _care_task(ctx: dict[str, Any], locale: str) -> None:
    ctx["care_task"] = {"id": 7, "opened_at": ctx["now"] - timedelta(hours=1)}


def _check_in(ctx: dict[str, Any], locale: str) -> None:
    if ctx["situation"]["stage"] == "update":
        ctx["check_in"] = True


def _on_time_after_all(ctx: dict[str, Any], locale: str) -> None:
    if ctx["order"] and ctx["situation"]["stage"] == "resolved":
        ctx["order"]["promised_by"] = ctx["now"] + timedelta(days=1)


def _no_links(ctx: dict[str, Any], locale: str) -> None:
    ctx["links"].update(tracking=None, order=None, status_page=None, address=None)


VARIANTS: dict[str, Variant] = {
    "typical": lambda ctx, locale: None,
    "several items": _several_items,
    "long values": _long_values,
    "accented name": _accented_name,
    "no estimate": _no_estimate,
    "repeat": _repeat,
    "promise passed": _promise_passed,
    "major outage": _major_outage,
    "unknown carrier": _unknown_carrier,
    "no first name": _no_first_name,
    "care task": _care_task,
    "check-in": _check_in,
    "on time after all": _on_time_after_all,
    "no links": _no_links,
}


def context_for(situation: str, stage: str, locale: str, variant: str, problem: str | None) -> dict[str, Any]:
    ctx = sample_context(situation, stage, locale=locale, exception=problem or "weather")
    VARIANTS[variant](ctx, locale)
    return derive(ctx)


def digest_context(locale: str, variant: str) -> dict[str, Any]:
    kinds = ("shipment.delayed", "shipment.exception", "service.disruption")
    ctx = sample_digest_context(kinds, locale=locale, exception="address")
    VARIANTS[variant](ctx, locale)
    return derive(ctx)


def render(situation: str, stage: str, locale: str, channel: Channel, ctx: dict[str, Any]) -> RenderedMessage:
    chosen = select_template_set(SEEDS, situation=situation, stage=stage, locale=locale, channel=channel)
    assert chosen.locale == locale
    return render_message(chosen, ctx, channel=channel, locale=chosen.locale, timezone=ctx["customer"]["timezone"])


Case = tuple[str, str, str, str | None]


def cases(locales: tuple[str, ...] = LOCALES) -> Iterator[Case]:
    """(situation, stage, locale, problem) for every raised kind and stage; each carrier problem for exceptions."""
    for situation in RAISED_KINDS:
        problems: tuple[str | None, ...] = PROBLEMS if situation == "shipment.exception" else (None,)
        for stage in SITUATION_STAGES:
            for locale in locales:
                for problem in problems:
                    yield situation, stage, locale, problem


def case_id(case: Case) -> str:
    return "-".join(part for part in case if part)
