"""RenderMemo gives exactly what render_message gives, and renders shared messages once."""

from __future__ import annotations

import copy
from itertools import product
from typing import Any

import pytest
from support.paths import TEMPLATES

from engine.compose import load_seed_templates, render_message, select_template_set
from engine.compose.memo import RenderMemo, analyse
from engine.compose.seeds import sample_context
from engine.detection.rules import RAISED_KINDS, SITUATION_STAGES
from engine.errors import TemplateError
from engine.vocabulary import Channel

SEEDS = load_seed_templates(TEMPLATES)
NAMES = ("Ana Souza", "João Pedro", "Ana Souza", "", "Zoë O'Brien & Co <b>", "Ana Lima")
ZONES = ("America/New_York", "Asia/Tokyo", "America/Sao_Paulo")


def contexts(situation: str, stage: str, locale: str) -> list[dict[str, Any]]:
    """Customers who share names and zones in different combinations, each with an own unsubscribe link."""
    made = []
    for i, (name, zone, first_sms) in enumerate(product(NAMES, ZONES, (True, False))):
        context = sample_context(situation, stage, locale=locale)
        context["customer"].update(id=f"C{i}", name=name, first_name=name.split()[0] if name else "", timezone=zone)
        context["links"]["unsubscribe"] = f"https://acme.example/unsubscribe/tok-{i:04d}.sig-{i * 7919:x}"
        context["first_sms"] = first_sms
        made.append(context)
    return made


@pytest.mark.parametrize("situation", RAISED_KINDS)
def test_every_seed_template_renders_identically_and_mostly_once(situation: str) -> None:
    memo = RenderMemo()
    calls = 0
    for stage, locale, channel in product(SITUATION_STAGES, ("en", "pt-BR"), ("email", "sms")):
        chosen: Channel = "email" if channel == "email" else "sms"
        sources = select_template_set(SEEDS, situation=situation, stage=stage, locale=locale, channel=chosen)
        for context in contexts(situation, stage, locale):
            if chosen == "sms":
                context["links"]["unsubscribe"] = None  # what build_context gives a text
            zone = context["customer"]["timezone"]
            expected = render_message(sources, context, channel=chosen, locale=sources.locale, timezone=zone)
            got = memo.render(sources, context, channel=chosen, locale=sources.locale, timezone=zone)
            assert got == expected, (stage, locale, channel, context["customer"])
            calls += 1
    # Shared first names and zones render once; every customer still gets their own link.
    assert memo.renders < calls * 0.8 and memo.hits == calls - memo.renders


def test_the_unsubscribe_link_is_spliced_where_it_is_only_printed_or_tested() -> None:
    sources = dict(
        select_template_set(SEEDS, situation="service.disruption", stage="initial", locale="en", channel="email")
    )
    reads = analyse(tuple(sources.items()))
    assert ("links", "unsubscribe") in reads.spliced
    assert ("customer", "first_name") in reads.paths and ("customer",) not in reads.paths


EMAIL = {"subject": "Hello {{ customer.first_name }}", "html": "<p>{{ customer.first_name }}</p>"}
TRICKY = {
    "printed": "Bye: {{ links.unsubscribe }}\n",
    "filtered": "Bye: {{ links.unsubscribe|upper }}\n",
    "length": "{{ links.unsubscribe|length }}{% if links.unsubscribe|length > 44 %} long{% endif %}\n",
    "filter block": "{% filter upper %}{{ links.unsubscribe }}{% endfilter %}\n",
    "captured": "{% set u %}{{ links.unsubscribe }}{% endset %}{{ u|replace('a', 'b') }}\n",
    "assigned": "{% set u = links.unsubscribe %}{{ u[:20] }}\n",
    "indexed": "{{ links['unsubscribe'] }}\n",
    "macro": "{% macro m() %}{{ links.unsubscribe }}{% endmacro %}{{ m()|upper }}\n",
    "loop": "{% for l in [1, 2] %}{{ links.unsubscribe }} {% endfor %}\n",
    "whole links": "{{ links|length }} {{ links.unsubscribe }}\n",
    "whole customer": "{{ customer }} {{ links.unsubscribe }}\n",
    "customer id": "{{ customer.id }} {{ links.unsubscribe }}\n",
    "shadowed": "{% set links = {'unsubscribe': customer.first_name} %}{{ links.unsubscribe }}\n",
    "end of line": "x {{ links.unsubscribe }}   \n\n\n\n{{ links.unsubscribe }}\n",
    "lipsum": "{{ lipsum(1) }} {{ links.unsubscribe }}\n",
    "missing": "{{ customer.nickname }}\n",
    "dict method": "{{ links.values()|list|length }}\n",
}


@pytest.mark.parametrize("case", list(TRICKY))
def test_templates_that_use_the_link_otherwise_still_render_exactly(case: str) -> None:
    memo = RenderMemo()
    sources = {**EMAIL, "text": TRICKY[case], "html": "<p>" + TRICKY[case] + "</p>"}
    base = sample_context("service.disruption", "initial")
    links = (
        "https://acme.example/u/aaaa",
        "https://acme.example/u/bbbbbbbbbbbbbbbbbbbbbbb?x=1&y=2",
        "https://ac.me/u/c",
    )
    for i, link in enumerate(links * 2):
        context = copy.deepcopy(base)
        context["customer"]["id"] = f"C{i % 3}"
        context["links"]["unsubscribe"] = link
        try:
            expected = render_message(sources, context, channel="email", locale="en", timezone="UTC")
        except TemplateError as exc:
            with pytest.raises(TemplateError, match=str(exc)[:30].replace("(", r"\(")):
                memo.render(sources, context, channel="email", locale="en", timezone="UTC")
            continue
        if case == "lipsum":
            # Random text: nothing to compare word for word, but it must never be shared between customers.
            memo.render(sources, context, channel="email", locale="en", timezone="UTC")
            assert memo.hits == 0
            continue
        got = memo.render(sources, context, channel="email", locale="en", timezone="UTC")
        assert got == expected, (case, link)
