"""The digest seeds (`digest/merged`): one message naming every order and incident it carries, in every
language, honest about each promise, and an SMS that still fits two segments."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from support.seed_cases import SEEDS
from support.words import BANNED, GREETING, LATE, LOCALES, STOP, says

from engine.compose import RenderedMessage, render_message, select_template_set, sms_segments
from engine.compose.facts import derive
from engine.compose.seeds import sample_digest_context
from engine.vocabulary import Channel, SituationKind, Stage

MORE = {"en": "and 2 more", "pt-BR": "e mais 2", "es": "y otros 2", "de": "und 2 weitere", "ja": "ほか2件"}
STILL_IN_TIME = {
    "en": "should still reach you by",
    "pt-BR": "deve chegar até",
    "es": "debería llegar para",
    "de": "sollte weiterhin bis",
    "ja": "お約束どおり",
}

MIXES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "two orders": (("shipment.delayed", "order.late_to_ship"), None),
    "address and outage": (("shipment.delayed", "shipment.exception", "service.disruption"), "address"),
    "five orders": (
        ("shipment.stalled", "shipment.exception", "shipment.delayed", "shipment.delayed", "order.late_to_ship"),
        "customs",
    ),
    "two incidents": (("service.disruption", "service.disruption"), None),
}


def context(mix: str, locale: str) -> dict[str, Any]:
    kinds, exception = MIXES[mix]
    ctx = sample_digest_context(kinds, locale=locale, exception=exception)
    incidents = [item["incident"] for item in ctx["digest"]["items"] if item["incident"]]
    if len(incidents) == 2:
        incidents[1].update(
            id="INC-8",
            title="Slow search",
            components=["search"],
            services=["search"],
            names=["search"],
            status="degraded_performance",
        )
    return ctx


def render(ctx: dict[str, Any], locale: str, channel: Channel) -> RenderedMessage:
    chosen = select_template_set(
        SEEDS, situation=SituationKind.DIGEST, stage=Stage.MERGED, locale=locale, channel=channel
    )
    assert chosen.locale == locale
    return render_message(chosen, ctx, channel=channel, locale=locale, timezone=ctx["customer"]["timezone"])


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("mix", list(MIXES))
def test_the_digest_names_everything_it_carries(mix: str, locale: str) -> None:
    ctx = context(mix, locale)
    mail, text = render(ctx, locale, "email"), render(ctx, locale, "sms").text

    assert mail.subject and len(mail.subject) < 160
    named, _ = GREETING[locale]
    first, full = ctx["customer"]["first_name"], ctx["customer"]["name"]
    assert mail.text.startswith(named.format(name=first, full=full) + "\n")
    assert mail.html and mail.html.startswith("<!doctype html>")
    for item in ctx["digest"]["items"]:
        if item["order"]:
            assert item["order"]["id"] in mail.text and item["order"]["items"] in mail.text
            assert item["order"]["id"] in mail.html
        else:
            assert item["incident"]["names"][0].lower() in mail.text.lower()
    if len(ctx["digest"]["items"]) > 3 and sms_segments(text).encoding == "GSM-7":
        assert MORE[locale] in text
    assert text.startswith("Acme: ") and first in text
    encoding = sms_segments(text)
    assert encoding.segments <= 2, (text, encoding)
    if locale in ("en", "de"):
        assert encoding.encoding == "GSM-7", text
    assert len(re.findall(r"https://", text)) == 1  # one link per text
    assert says(mail.subject + mail.text + text, BANNED[locale]) == []
    assert "{{" not in mail.text + mail.html + text and "!" not in mail.text + text


@pytest.mark.parametrize("locale", LOCALES)
def test_an_address_problem_asks_for_the_one_action_and_links_to_it(locale: str) -> None:
    ctx = context("address and outage", locale)
    mail, text = render(ctx, locale, "email"), render(ctx, locale, "sms").text
    link = ctx["digest"]["items"][1]["links"]["order"]

    assert link in text and link in mail.text


@pytest.mark.parametrize("locale", LOCALES)
def test_an_order_still_in_time_is_not_called_late(locale: str) -> None:
    ctx = context("two orders", locale)
    first = ctx["digest"]["items"][0]
    first["shipment"]["estimated_delivery_at"] = first["order"]["promised_by"] - timedelta(hours=3)
    single = derive(
        {**ctx, "order": first["order"], "shipment": first["shipment"], "situation": {"kind": first["kind"]}}
    )
    first.update(delivery=single["delivery"], problem=single["problem"])
    ctx["digest"]["items"] = [first]
    ctx["digest"]["count"] = 1

    mail, text = render(ctx, locale, "email"), render(ctx, locale, "sms").text

    assert says(mail.text + text, LATE[locale]) == []
    assert STILL_IN_TIME[locale] in mail.text


@pytest.mark.parametrize("locale", LOCALES)
def test_long_and_accented_names_still_fit_two_segments(locale: str) -> None:
    ctx = context("five orders", locale)
    ctx["customer"]["first_name"] = "Conceição"  # UCS-2: 134 characters for two segments
    for item in ctx["digest"]["items"]:
        if item["order"]:
            item["order"]["items"] = "ergonomic mesh office chair with adjustable lumbar support and 2 other items"
            item["order"]["id"] = "A1000234567"
    text = render(ctx, locale, "sms").text
    assert sms_segments(text).segments <= 2, text
    assert "Conceição" in text
    subject = render(ctx, locale, "email").subject
    assert subject is not None and len(subject) < 160


@pytest.mark.parametrize("locale", LOCALES)
def test_the_stop_line_is_only_on_the_first_text(locale: str) -> None:
    for first in (True, False):
        ctx = context("two orders", locale)
        ctx["first_sms"] = first
        assert render(ctx, locale, "sms").text.endswith(STOP[locale]) is first


@pytest.mark.parametrize("locale", LOCALES)
def test_a_digest_of_outages_links_to_the_status_page(locale: str) -> None:
    ctx = context("two incidents", locale)
    text = render(ctx, locale, "sms").text
    assert "https://acme.example/status" in text and "/orders" not in text
