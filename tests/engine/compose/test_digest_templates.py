"""The digest seeds (`digest/merged`): one message naming every order and incident it carries, in both
languages, honest about each promise, and an SMS that still fits two GSM-7 segments."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from support.paths import TEMPLATES

from engine.compose import RenderedMessage, load_seed_templates, render_message, select_template_set, sms_segments
from engine.compose.seeds import sample_digest_context
from engine.vocabulary import Channel, SituationKind, Stage

ROOT = TEMPLATES
SEEDS = load_seed_templates(ROOT)
LOCALES = ("en", "pt-BR")
BANNED = ("unfortunately", "valued customer", "kindly", "inconvenience", "infelizmente", "transtorno", "prezado")
LATE = {"en": ("won't reach you by", "didn't reach you by", "running late"), "pt-BR": ("não vai chegar", "atrasou")}

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
            id="INC-8", title="Slow search", components=["search"], services=["search"], status="degraded_performance"
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
    assert mail.text.startswith("Hi Ana,\n" if locale == "en" else "Olá, Ana,\n")
    assert mail.html and mail.html.startswith("<!doctype html>")
    for item in ctx["digest"]["items"]:
        if item["order"]:
            assert item["order"]["id"] in mail.text and item["order"]["items"] in mail.text
            assert item["order"]["id"] in mail.html
        else:
            assert item["incident"]["services"][0] in mail.text
    shown = ctx["digest"]["items"][:3]
    for item in shown:  # the text names up to three, and counts the rest
        if item["order"]:
            assert (item["order"]["id"] in text) or (item["order"]["items"] in text)
    if len(ctx["digest"]["items"]) > 3:
        assert ("and 2 more" if locale == "en" else "e mais 2") in text
    assert text.startswith("Acme: ")
    encoding = sms_segments(text)
    assert encoding.segments <= 2 and encoding.encoding == "GSM-7", (text, encoding)
    assert len(re.findall(r"https://", text)) == 1  # one link per text
    for phrase in BANNED:
        assert phrase not in (mail.subject + mail.text + text).lower()
    assert "{{" not in mail.text + mail.html + text and "!" not in mail.text + text


@pytest.mark.parametrize("locale", LOCALES)
def test_an_address_problem_asks_for_the_one_action_and_links_to_it(locale: str) -> None:
    ctx = context("address and outage", locale)
    mail, text = render(ctx, locale, "email"), render(ctx, locale, "sms").text
    link = ctx["digest"]["items"][1]["links"]["order"]

    assert link in text and link in mail.text
    assert ("The one thing we need from you" if locale == "en" else "A única coisa que precisamos") in mail.text
    assert ("You don't need to do anything" if locale == "en" else "Você não precisa fazer nada") not in mail.text


@pytest.mark.parametrize("locale", LOCALES)
def test_an_order_still_in_time_is_not_called_late(locale: str) -> None:
    ctx = context("two orders", locale)
    first = ctx["digest"]["items"][0]
    first["shipment"]["estimated_delivery_at"] = first["order"]["promised_by"] - timedelta(hours=6)
    ctx["digest"]["items"] = [first]
    ctx["digest"]["count"] = 1

    mail, text = render(ctx, locale, "email"), render(ctx, locale, "sms").text

    for claim in LATE[locale]:
        assert claim not in mail.text and claim not in text
    assert ("still expects to deliver by" if locale == "en" else "ainda prevê a entrega até") in mail.text


@pytest.mark.parametrize("locale", LOCALES)
def test_long_and_accented_names_still_fit_two_segments(locale: str) -> None:
    ctx = context("five orders", locale)
    ctx["customer"]["first_name"] = "Conceição"
    for item in ctx["digest"]["items"]:
        if item["order"]:
            item["order"]["items"] = "ergonomic mesh office chair with adjustable lumbar support and 2 other items"
            item["order"]["id"] = "A1000234567"
    text = render(ctx, locale, "sms").text
    assert sms_segments(text).segments <= 2, text
    subject = render(ctx, locale, "email").subject
    assert subject is not None and len(subject) < 160


@pytest.mark.parametrize("locale", LOCALES)
def test_the_stop_line_is_only_on_the_first_text(locale: str) -> None:
    stop = "Reply STOP to opt out." if locale == "en" else "Responda STOP para sair."
    for first in (True, False):
        ctx = context("two orders", locale)
        ctx["first_sms"] = first
        assert render(ctx, locale, "sms").text.endswith(stop) is first


@pytest.mark.parametrize("locale", LOCALES)
def test_a_digest_of_outages_links_to_the_status_page(locale: str) -> None:
    ctx = context("two incidents", locale)
    text = render(ctx, locale, "sms").text
    assert "https://acme.example/status" in text and "/orders" not in text
