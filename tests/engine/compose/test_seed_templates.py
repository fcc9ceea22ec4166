"""The seed templates: every situation, stage, channel and locale renders, reads right and fits."""

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from support.paths import TEMPLATES

from engine.compose import (
    RenderedMessage,
    TemplateKey,
    load_seed_templates,
    locale_fallbacks,
    render_message,
    select_template_set,
    sms_segments,
)
from engine.compose.seeds import PARTS, sample_context
from engine.compose.segments import GSM7_BASIC, GSM7_EXTENSION
from engine.detection.rules import RAISED_KINDS, SITUATION_STAGES, TEMPLATE_STAGES
from engine.errors import TemplateError
from engine.vocabulary import Channel

ROOT = TEMPLATES
SEEDS = load_seed_templates(ROOT)
LOCALES = ("en", "pt-BR")
EXCEPTIONS = ("address", "customs", "damaged", "weather", "other", None)

# EMPATHY.md, "Words that break trust", plus their usual Portuguese equivalents.
BANNED = (
    "unfortunately",
    "as per our policy",
    "please be advised",
    "we apologize for any inconvenience",
    "apologize for any inconvenience",
    "valued customer",
    "circumstances beyond our control",
    "kindly",
    "you should have",
    "edd",
    "exception scan",
    "p1 incident",
    "guaranteed",
    "infelizmente",
    "prezado cliente",
    "conforme nossa política",
    "informamos que",
    "pedimos desculpas pelo transtorno",
    "qualquer inconveniente",
    "alheios à nossa vontade",
)
ENGLISH_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PORTUGUESE_DAYS = ("segunda-feira", "terça", "quarta", "quinta", "sexta", "sábado", "domingo")

# ------------------------------------------------------------------ sample contexts

Variant = Callable[[dict[str, Any], str], None]


def _long_values(ctx: dict[str, Any], locale: str) -> None:
    ctx["customer"]["first_name"] = "Maximiliano"
    ctx["customer"]["name"] = "Maximiliano Albuquerque de Vasconcelos"
    if ctx["order"]:
        if locale == "en":
            names = ["Ergonomic mesh office chair with adjustable lumbar support", "Trail running shoes", "Tea"]
            items = "ergonomic mesh office chair with adjustable lumbar support and 2 other items"
        else:
            names = ["Cadeira de escritório ergonômica com apoio lombar ajustável", "Tênis de corrida", "Chá"]
            items = "cadeira de escritório ergonômica com apoio lombar ajustável e 2 outros itens"
        ctx["order"].update(
            lines=[{"name": name, "quantity": 1} for name in names],
            items=items,
            items_title=items[0].upper() + items[1:],
            id="A1000234567",
        )
    if ctx["incident"]:
        ctx["incident"]["components"] = (
            ["checkout", "payments", "order history", "gift cards"]
            if locale == "en"
            else ["checkout", "pagamentos", "catálogo", "cartões-presente"]
        )
    if ctx["shipment"]:
        ctx["shipment"]["location"] = "Hebron, KY, US - UPS Worldport Distribution Center"


def _accented_name(ctx: dict[str, Any], locale: str) -> None:
    # A name outside GSM-7 turns the whole SMS into UCS-2 (70 characters a segment).
    ctx["customer"]["first_name"] = "Conceição" if locale == "pt-BR" else "Zoë"


def _no_estimate(ctx: dict[str, Any], locale: str) -> None:
    if ctx["shipment"]:
        ctx["shipment"].update(estimated_delivery_at=None, previous_estimated_delivery_at=None, location=None)


def _repeat_returning_customer(ctx: dict[str, Any], locale: str) -> None:
    ctx.update(repeat=True, first_sms=False)


def _earlier_estimate(ctx: dict[str, Any], locale: str) -> None:
    if ctx["shipment"] and ctx["shipment"]["estimated_delivery_at"]:
        ctx["shipment"]["previous_estimated_delivery_at"] = ctx["now"] + timedelta(days=6)
        ctx["shipment"]["status"] = "in_transit"


def _one_day_slip_and_promise_passed(ctx: dict[str, Any], locale: str) -> None:
    if ctx["order"]:
        ctx["order"]["promised_by"] = ctx["now"] - timedelta(hours=2)
    if ctx["shipment"] and ctx["shipment"]["estimated_delivery_at"]:
        ctx["shipment"]["estimated_delivery_at"] = ctx["now"] + timedelta(hours=20)
        ctx["shipment"]["status"] = "out_for_delivery"


def _major_outage_without_components(ctx: dict[str, Any], locale: str) -> None:
    if ctx["incident"]:
        ctx["incident"].update(status="major_outage", components=[], message="Payments are failing at the bank.")
    ctx["next_update_at"] = None
    ctx["links"]["unsubscribe"] = None


def _unknown_carrier(ctx: dict[str, Any], locale: str) -> None:
    if ctx["shipment"]:
        ctx["shipment"].update(carrier="", carrier_name="the carrier", delivered_at=None)
    if ctx["incident"]:
        ctx["incident"].update(status="degraded_performance", resolved_at=None)


def _no_first_name(ctx: dict[str, Any], locale: str) -> None:
    ctx["customer"].update(first_name="", name="")


VARIANTS: dict[str, Variant] = {
    "typical": lambda ctx, locale: None,
    "long values": _long_values,
    "accented name": _accented_name,
    "no estimate": _no_estimate,
    "repeat": _repeat_returning_customer,
    "earlier estimate": _earlier_estimate,
    "small slip": _one_day_slip_and_promise_passed,
    "major outage": _major_outage_without_components,
    "unknown carrier": _unknown_carrier,
    "no first name": _no_first_name,
}


def context_for(situation: str, stage: str, locale: str, variant: str, exception: str | None) -> dict[str, Any]:
    ctx = sample_context(situation, stage, locale=locale, exception=exception)
    VARIANTS[variant](ctx, locale)
    return ctx


def render(situation: str, stage: str, locale: str, channel: Channel, ctx: dict[str, Any]) -> RenderedMessage:
    chosen = select_template_set(SEEDS, situation=situation, stage=stage, locale=locale, channel=channel)
    assert chosen.locale == locale
    timezone = ctx["customer"]["timezone"]
    return render_message(chosen, ctx, channel=channel, locale=chosen.locale, timezone=timezone)


def cases() -> Iterator[tuple[str, str, str, str | None]]:
    for situation in RAISED_KINDS:
        exceptions = EXCEPTIONS if situation == "shipment.exception" else (None,)
        for stage in SITUATION_STAGES:
            for locale in LOCALES:
                for exception in exceptions:
                    yield situation, stage, locale, exception


CASES = list(cases())


def case_id(case: tuple[str, str, str, str | None]) -> str:
    return "-".join(part for part in case if part)


# ------------------------------------------------------------------ files


def test_every_situation_stage_part_and_locale_has_a_seed() -> None:
    expected = {
        TemplateKey(situation, stage, part, locale)
        for situation, stages in TEMPLATE_STAGES.items()
        for stage in stages
        for part in PARTS
        for locale in LOCALES
    }
    assert set(SEEDS) == expected
    assert len(SEEDS) == 120 + 8  # five situations by three stages, and the digest


@pytest.mark.parametrize(
    ("relative", "message"),
    [
        ("shipment.delayed/initial.j2", "malformed template file name"),
        ("shipment.delayed/initial.email.j2", "unknown part 'email'"),
        ("shipment.delay/initial.text.j2", "unknown situation 'shipment.delay'"),
        ("shipment.delayed/first.text.j2", "unknown stage 'first'"),
        ("shipment.delayed/initial.text.en.j2", "English templates have no locale suffix"),
        ("shipment.delayed/initial.text.pt_br.j2", "locale 'pt_br' is not a tag like 'pt-BR'"),
        ("initial.text.j2", "one folder deep"),
    ],
)
def test_a_malformed_file_name_is_a_clear_error(tmp_path: Path, relative: str, message: str) -> None:
    (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / relative).write_text("x", encoding="utf-8")
    with pytest.raises(TemplateError, match=message) as info:
        load_seed_templates(tmp_path)
    assert relative in str(info.value)


def test_other_files_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# how to", encoding="utf-8")
    (tmp_path / "shipment.delayed").mkdir()
    (tmp_path / "shipment.delayed" / "initial.sms.pt-BR.j2").write_text("oi", encoding="utf-8")
    (tmp_path / "shipment.delayed" / "notes.txt").write_text("draft", encoding="utf-8")
    assert load_seed_templates(tmp_path) == {TemplateKey("shipment.delayed", "initial", "sms", "pt-BR"): "oi"}


def test_locale_fallback_goes_exact_then_language_then_english() -> None:
    assert locale_fallbacks("pt-BR") == ["pt-BR", "pt", "en"]
    assert locale_fallbacks("pt_br") == ["pt-BR", "pt", "en"]
    assert locale_fallbacks("en-GB") == ["en-GB", "en"]
    assert locale_fallbacks("") == ["en"]


def test_a_whole_set_comes_from_one_locale() -> None:
    templates = {
        TemplateKey("shipment.delayed", "initial", "sms", "pt"): "pt sms",
        TemplateKey("shipment.delayed", "initial", "subject", "pt"): "pt subject only",
        **{TemplateKey("shipment.delayed", "initial", part, "en"): f"en {part}" for part in PARTS},
    }
    sms = select_template_set(templates, situation="shipment.delayed", stage="initial", locale="pt-BR", channel="sms")
    assert (sms.locale, dict(sms)) == ("pt", {"sms": "pt sms"})
    email = select_template_set(
        templates, situation="shipment.delayed", stage="initial", locale="pt-BR", channel="email"
    )
    assert email.locale == "en"  # pt has no text/html, so no half-Portuguese email
    assert dict(email) == {"subject": "en subject", "text": "en text", "html": "en html"}
    with pytest.raises(TemplateError, match=r"no email templates for shipment\.stalled/initial"):
        select_template_set(templates, situation="shipment.stalled", stage="initial", locale="fr", channel="email")


def test_sms_seeds_are_written_in_gsm7() -> None:
    # One "ã" or curly quote in the fixed words would make every text UCS-2: 134 characters, not 306.
    for key, source in SEEDS.items():
        if key.part == "sms":
            words = re.sub(r"{#.*?#}", "", source, flags=re.S)
            assert sms_segments(words).encoding == "GSM-7", (key, set(words) - set(GSM7_BASIC | GSM7_EXTENSION))


def test_no_seed_uses_words_that_break_trust() -> None:
    for key, source in SEEDS.items():
        lowered = source.lower()
        for phrase in BANNED:
            assert not re.search(rf"\b{re.escape(phrase)}\b", lowered), (key, phrase)
        # Bad news never gets an exclamation mark; the seeds use none at all.
        words = re.sub(r"{[{%#].*?[}%#]}", "", source.replace("<!doctype html>", ""), flags=re.S)
        assert "!" not in words, key


# ------------------------------------------------------------------ rendering every seed


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_seed_renders_reads_right_and_fits(case: tuple[str, str, str, str | None], variant: str) -> None:
    situation, stage, locale, exception = case
    ctx = context_for(situation, stage, locale, variant, exception)
    mail = render(situation, stage, locale, "email", ctx)
    text = render(situation, stage, locale, "sms", ctx).text
    first_name = ctx["customer"]["first_name"]

    assert mail.subject and "\n" not in mail.subject and len(mail.subject) < 160
    if first_name:
        assert mail.text.startswith(("Hi " if locale == "en" else "Olá, ") + first_name + ",\n")
    else:
        assert mail.text.startswith("Hi there,\n" if locale == "en" else "Olá,\n")
        assert " ," not in mail.text + text
    if ctx["order"]:
        assert ctx["order"]["items"] in mail.text
    if ctx["incident"] and ctx["incident"]["components"]:
        assert ctx["incident"]["components"][0] in mail.text
    assert mail.html and mail.html.startswith("<!doctype html>") and first_name in mail.html
    assert "{{" not in mail.text + mail.html + text  # nothing left unrendered

    encoding = sms_segments(text)
    assert 1 <= encoding.segments <= 2, (text, encoding)
    assert text.startswith(ctx["brand"]["name"] + ": ")
    if variant != "accented name" and not (locale == "pt-BR" and variant == "long values"):
        assert encoding.encoding == "GSM-7", text  # GSM-7 values in, GSM-7 text out (306 characters)
    for link in (ctx["links"]["unsubscribe"], ctx["links"]["help"]):
        assert link is None or link not in text  # one link per SMS, and never these two

    for phrase in BANNED:
        assert phrase not in (mail.text + text).lower()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_stop_line_is_only_on_the_first_text(case: tuple[str, str, str, str | None]) -> None:
    situation, stage, locale, exception = case
    stop = "Reply STOP to opt out." if locale == "en" else "Responda STOP para sair."
    for first in (True, False):
        ctx = context_for(situation, stage, locale, "typical", exception)
        ctx["first_sms"] = first
        text = render(situation, stage, locale, "sms", ctx).text
        assert text.endswith(stop) is first
        assert ("STOP" in text) is first


def test_html_escapes_what_customers_and_carriers_typed() -> None:
    ctx = sample_context("shipment.delayed", "initial", locale="en")
    ctx["order"]["items"] = ctx["order"]["items_title"] = "<script>alert('hi')</script>"
    ctx["customer"]["first_name"] = "Ana & Bo"
    mail = render("shipment.delayed", "initial", "en", "email", ctx)
    assert mail.html is not None
    assert "&lt;script&gt;alert(&#39;hi&#39;)&lt;/script&gt;" in mail.html and "<script>" not in mail.html
    assert "Ana &amp; Bo" in mail.html
    assert "<script>alert('hi')</script>" in mail.text and "Hi Ana & Bo," in mail.text


def test_portuguese_dates_read_in_portuguese() -> None:
    ctx = sample_context("shipment.delayed", "initial", locale="pt-BR")
    mail = render("shipment.delayed", "initial", "pt-BR", "email", ctx)
    assert "sexta-feira, 13 de março" in mail.text  # the promised day
    assert "terça ou quarta-feira" in mail.text  # the new estimate, as a range
    assert "amanhã às 15:00" in mail.text  # the next update, in São Paulo time
    texts = [mail.text]
    for situation, stage, locale, exception in CASES:
        if locale == "pt-BR":
            ctx = context_for(situation, stage, locale, "typical", exception)
            texts.append(render(situation, stage, locale, "email", ctx).text)
            texts.append(render(situation, stage, locale, "sms", ctx).text)
    everything = "\n".join(texts)
    assert not [day for day in ENGLISH_DAYS if day in everything]
    assert any(day in everything for day in PORTUGUESE_DAYS)


def test_the_delay_email_follows_the_five_moves() -> None:
    ctx = sample_context("shipment.delayed", "initial", locale="en")
    mail = render("shipment.delayed", "initial", "en", "email", ctx)
    assert mail.subject == "Running late: your desk lamp — new estimate Tuesday or Wednesday"
    first_paragraph = mail.text.split("\n\n")[1]
    assert first_paragraph.startswith("I'm sorry: your desk lamp won't reach you by Friday, 13 March")
    assert "The new estimate from UPS is Tuesday or Wednesday." in first_paragraph
    assert "We're watching the parcel and will email you again by 2:00 PM tomorrow" in mail.text
    assert "Track your parcel: https://acme.example/t/A10042" in mail.text
    assert mail.text.count("sorry") == 1  # one plain apology


def test_a_repeat_problem_is_acknowledged() -> None:
    for locale, phrase in (("en", "second time recently"), ("pt-BR", "segunda vez em pouco tempo")):
        for situation in RAISED_KINDS:
            ctx = sample_context(situation, "initial", locale=locale)
            ctx["repeat"] = True
            assert phrase in render(situation, "initial", locale, "email", ctx).text, (situation, locale)
            ctx["repeat"] = False
            assert phrase not in render(situation, "initial", locale, "email", ctx).text


def test_the_address_exception_asks_for_the_one_action_without_blame() -> None:
    ctx = sample_context("shipment.exception", "initial", locale="en", exception="address")
    mail = render("shipment.exception", "initial", "en", "email", ctx)
    assert mail.subject == "Please confirm the delivery address for your desk lamp"
    assert mail.text.split("\n\n")[1].startswith("We couldn't match the delivery address on your order")
    assert "Confirm your address: https://acme.example/orders/A10042" in mail.text
    assert "you entered" not in mail.text.lower() and "wrong address" not in mail.text.lower()


def test_resolved_messages_are_brief_thankful_and_promise_nothing_more() -> None:
    for locale in LOCALES:
        for situation in RAISED_KINDS:
            ctx = sample_context(situation, "resolved", locale=locale)
            mail = render(situation, "resolved", locale, "email", ctx)
            body = mail.text.split("\n--\n")[0]
            assert len(body) < 500, (situation, locale)
            assert ("Thank you" if locale == "en" else "Obrigado") in body
            assert ("write again" if locale == "en" else "escrever de novo") not in body


@pytest.mark.parametrize(
    ("exception", "email", "text", "portuguese"),
    [
        ("weather", "while the weather held things up", None, "enquanto o mau tempo atrasava a entrega"),
        ("customs", "while it cleared customs", None, "enquanto o pacote passava pela alfândega"),
        ("damaged", "while we put things right", None, "enquanto resolvíamos o problema com o pacote"),
        (
            "other",
            "while we sorted out the delivery problem",
            "while we sorted out the problem",
            "enquanto resolvíamos o problema na entrega",
        ),
    ],
)
def test_the_thank_you_names_what_actually_held_the_parcel_up(
    exception: str, email: str, text: str | None, portuguese: str
) -> None:
    """We did not "sort out" the weather: the thank-you says what the wait was for, honestly."""
    for locale, channel, phrase in (
        ("en", "email", email),
        ("en", "sms", text or email),
        ("pt-BR", "email", portuguese),
    ):
        ctx = sample_context("shipment.exception", "resolved", locale=locale, exception=exception)
        assert phrase in render("shipment.exception", "resolved", locale, channel, ctx).text, (locale, channel)
