"""Whether a message says the order will miss its promised day follows the data, never the template.

The seeds compare the carrier's estimate with `order.promised_by` on the customer's calendar:

- estimate on a later day than the promise (or the promised day has passed) → "won't reach you by Friday";
- estimate on or before the promised day → "may take a little longer, but UPS still expects to deliver
  by Friday" — no claim that it will be late;
- no estimate → "may not reach you by Friday" — no certainty either way.

Each case renders every part (subject, text, html, SMS) in both languages with the estimate after the
promise, before it, on the promised day but later in the evening, and missing.
"""

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.paths import TEMPLATES

from engine.compose import RenderedMessage, load_seed_templates, render_message, select_template_set, sms_segments
from engine.compose.seeds import sample_context
from engine.vocabulary import Channel

ROOT = TEMPLATES
SEEDS = load_seed_templates(ROOT)
LOCALES = ("en", "pt-BR")

# Every way the seeds say "it will miss (or has missed) the promise". None may appear unless it is true.
LATE_CLAIMS = {
    "en": (
        "won't reach you by",
        "didn't reach you by",
        "running late",
        "running a little late",
        "will be late",
        "will be a little late",
        "won't arrive",
    ),
    "pt-BR": (
        "não vai chegar",
        "não chegou",
        "vai atrasar",
        "atrasou",
        "continua atrasado",
        "continua atrasada",
        "segue atrasado",
    ),
}
# The honest "no date yet" wording, and the reassurance when the carrier still expects the promised day.
MAY_MISS = {"en": "may not reach you by", "pt-BR": "pode não chegar até"}
STILL_IN_TIME = {
    "en": ("still expects", "should still reach you", "should reach you by", "still shows delivery by"),
    "pt-BR": ("ainda prevê a entrega até", "ainda deve chegar até", "deve chegar até", "ainda mostra entrega até"),
}
PROMISED_DAY = {"en": "Friday, 13 March", "pt-BR": "sexta-feira, 13 de março"}
# The day after the promise, in each form the seeds print it: an in-time window must never reach it.
DAY_AFTER = {"en": ("Saturday", "Sat"), "pt-BR": ("sábado", "14/03")}


def _handed_over(ctx: dict[str, Any]) -> None:
    # order.late_to_ship samples have no shipment until it is resolved; give it one the carrier has.
    shipment = sample_context("shipment.delayed", "initial", locale=ctx["customer"]["locale"])["shipment"]
    ctx["shipment"] = {**shipment, "location": None, "handed_over_at": ctx["now"] - timedelta(hours=3)}


# (situation, stage, exception, extra setup, the email's own words for "it will miss the promise")
Case = tuple[str, str, str | None, Callable[[dict[str, Any]], None] | None, dict[str, str] | None]
CASES: list[Case] = [
    ("shipment.exception", "initial", "weather", None, {"en": "won't reach you by", "pt-BR": "não vai chegar até"}),
    ("shipment.exception", "initial", "customs", None, {"en": "won't reach you by", "pt-BR": "não vai chegar até"}),
    ("shipment.delayed", "initial", None, None, {"en": "won't reach you by", "pt-BR": "não vai chegar até"}),
    ("shipment.delayed", "update", None, None, {"en": "slipped again", "pt-BR": "atrasou de novo"}),
    ("shipment.stalled", "initial", None, None, {"en": "won't reach you by", "pt-BR": "não vai chegar até"}),
    ("order.late_to_ship", "update", None, _handed_over, {"en": "won't reach you by", "pt-BR": "não vai chegar até"}),
]
# SMS that carry the late news in so many words (the others only give the new estimate).
SMS_SAYS_LATE = {("shipment.exception", "initial"), ("shipment.delayed", "initial")}


def case_id(case: Case) -> str:
    return "-".join(part for part in case[:3] if isinstance(part, str))


def context(case: Case, locale: str, eta: Callable[[datetime], datetime | None]) -> dict[str, Any]:
    situation, stage, exception, setup, _ = case
    ctx = sample_context(situation, stage, locale=locale, exception=exception or "weather")
    if setup:
        setup(ctx)
    ctx["shipment"]["estimated_delivery_at"] = eta(ctx["order"]["promised_by"])
    return ctx


def render_all(case: Case, locale: str, ctx: dict[str, Any]) -> tuple[str, str]:
    """(the email's subject, text and html in one string, the SMS)."""
    rendered: dict[Channel, RenderedMessage] = {}
    for channel in ("email", "sms"):
        chosen = select_template_set(SEEDS, situation=case[0], stage=case[1], locale=locale, channel=channel)
        timezone = ctx["customer"]["timezone"]
        rendered[channel] = render_message(chosen, ctx, channel=channel, locale=chosen.locale, timezone=timezone)
    mail = rendered["email"]
    return "\n".join((mail.subject or "", mail.text, mail.html or "")), rendered["sms"].text


def late_claims(locale: str, rendered: str) -> list[str]:
    lowered = rendered.lower()
    return [claim for claim in LATE_CLAIMS[locale] if re.search(rf"\b{re.escape(claim)}\b", lowered)]


AFTER = lambda promise: promise + timedelta(days=3)  # noqa: E731
DAY_BEFORE = lambda promise: promise - timedelta(days=1)  # noqa: E731
SAME_DAY_EARLIER = lambda promise: promise - timedelta(hours=5)  # noqa: E731
SAME_DAY_LATER = lambda promise: promise + timedelta(hours=2, minutes=30)  # noqa: E731  (evening, same date)
NONE = lambda promise: None  # noqa: E731


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_an_estimate_after_the_promise_says_it_will_miss_it(case: Case, locale: str) -> None:
    mail, sms = render_all(case, locale, context(case, locale, AFTER))
    assert case[4] is not None
    assert case[4][locale] in mail, mail
    if (case[0], case[1]) in SMS_SAYS_LATE:
        assert late_claims(locale, sms), sms


@pytest.mark.parametrize("eta", [DAY_BEFORE, SAME_DAY_EARLIER, SAME_DAY_LATER], ids=["day before", "earlier", "later"])
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_an_estimate_on_or_before_the_promised_day_claims_no_delay(
    case: Case, locale: str, eta: Callable[[datetime], datetime]
) -> None:
    mail, sms = render_all(case, locale, context(case, locale, eta))
    assert late_claims(locale, mail) == [], mail
    assert late_claims(locale, sms) == [], sms
    assert MAY_MISS[locale] not in mail
    body = mail.split("\n--\n")[0]
    assert any(phrase in body for phrase in STILL_IN_TIME[locale]), body
    assert PROMISED_DAY[locale] in body
    # The window is clipped at the promise: "Friday or Saturday" would take back the reassurance.
    for day in DAY_AFTER[locale]:
        assert day not in mail + sms, (day, mail, sms)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_no_estimate_is_no_certainty_either_way(case: Case, locale: str) -> None:
    mail, sms = render_all(case, locale, context(case, locale, NONE))
    assert late_claims(locale, mail) == [], mail
    assert late_claims(locale, sms) == [], sms
    assert f"{MAY_MISS[locale]} {PROMISED_DAY[locale]}" in mail
    assert not any(phrase in mail for phrase in STILL_IN_TIME[locale] if phrase != "deve chegar até")


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_promised_day_that_has_passed_is_owned_in_the_past_tense(case: Case, locale: str) -> None:
    ctx = context(case, locale, NONE)
    ctx["order"]["promised_by"] = ctx["now"] - timedelta(days=2)  # Tuesday; nothing delivered
    mail, sms = render_all(case, locale, ctx)
    assert late_claims(locale, mail), mail
    if (case[0], case[1]) in SMS_SAYS_LATE:
        assert late_claims(locale, sms), sms
    assert MAY_MISS[locale] not in mail
    assert ("won't reach you by" if locale == "en" else "não vai chegar até") not in mail


@pytest.mark.parametrize("locale", LOCALES)
def test_a_stale_estimate_in_the_past_counts_as_no_estimate(locale: str) -> None:
    case = CASES[0]
    ctx = context(case, locale, lambda promise: promise - timedelta(days=3))  # Monday, already gone
    mail, _ = render_all(case, locale, ctx)
    assert f"{MAY_MISS[locale]} {PROMISED_DAY[locale]}" in mail


@pytest.mark.parametrize("locale", LOCALES)
def test_the_demo_weather_hold_with_an_estimate_before_the_promise_reassures(locale: str) -> None:
    # The demo's story: promised Saturday evening, the carrier's new estimate earlier that Saturday.
    ctx = sample_context("shipment.exception", "initial", locale=locale, exception="weather")
    names = ["Espresso grinder", "Coffee beans"] if locale == "en" else ["Moedor de café", "Café em grãos"]
    items = f"{names[0].lower()} {'and' if locale == 'en' else 'e'} {names[1].lower()}"
    ctx["order"].update(lines=[{"name": n, "quantity": 1} for n in names], items=items, items_title=items.capitalize())
    ctx["order"]["promised_by"] = datetime(2026, 3, 14, 21, 0, tzinfo=UTC)  # 5 PM in New York, 6 PM in São Paulo
    ctx["shipment"]["estimated_delivery_at"] = datetime(2026, 3, 14, 15, 0, tzinfo=UTC)
    mail, sms = render_all(CASES[0], locale, ctx)
    subject = mail.split("\n")[0]
    assert "  " not in subject
    assert late_claims(locale, mail + sms) == []
    if locale == "en":
        assert (
            subject == "Bad weather may slow down your espresso grinder and coffee beans — still expected by Saturday"
        )
        assert "UPS still expects to deliver it by Saturday, 14 March, the day we promised." in mail
    else:
        assert subject == "Mau tempo no caminho do seu pedido A10042 — a entrega segue prevista até sábado"
        assert "ainda prevê a entrega até sábado, 14 de março, a data que prometemos." in mail


# ------------------------------------------------------------------ the rest of the data the seeds now use


@pytest.mark.parametrize(
    ("locale", "email_words", "sms_words"),
    [
        (
            "en",
            "hasn't moved since Tuesday, 10 March, when it was scanned in Columbus, OH",
            "hasn't moved since Tue 10 Mar",
        ),
        ("pt-BR", "não teve nenhuma movimentação desde terça-feira, 10 de março", "sem movimento desde 10/03"),
    ],
)
def test_a_stalled_parcel_says_since_when_from_the_last_scan(locale: str, email_words: str, sms_words: str) -> None:
    case: Case = ("shipment.stalled", "initial", None, None, None)
    ctx = sample_context("shipment.stalled", "initial", locale=locale)
    assert ctx["shipment"]["last_scan_at"] == ctx["now"] - timedelta(days=2, hours=4)
    mail, sms = render_all(case, locale, ctx)
    assert email_words in mail
    assert sms_words in sms
    ctx["shipment"]["last_scan_at"] = None  # older data: fall back to the place it reached
    mail, sms = render_all(case, locale, ctx)
    assert ("since it reached" if locale == "en" else "desde que chegou a") in mail


@pytest.mark.parametrize("locale", LOCALES)
def test_a_label_is_not_a_handover_late_to_ship_owns_it_until_the_carrier_has_the_parcel(locale: str) -> None:
    case: Case = ("order.late_to_ship", "update", None, _handed_over, None)
    ctx = context(case, locale, AFTER)
    ctx["shipment"].update(status="label_created", handed_over_at=None)
    mail, sms = render_all(case, locale, ctx)
    assert ("We still haven't sent your desk lamp" if locale == "en" else "Ainda não conseguimos enviar") in mail
    shipped = "shipped" if locale == "en" else "já saiu do nosso estoque"
    assert shipped not in mail + sms
    ctx["shipment"].update(status="in_transit", handed_over_at=ctx["now"] - timedelta(hours=3))
    mail, sms = render_all(case, locale, ctx)
    assert shipped in mail


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_wording_still_fits_two_sms_segments_with_long_values(case: Case, locale: str) -> None:
    for eta in (AFTER, DAY_BEFORE, NONE):
        ctx = context(case, locale, eta)
        ctx["customer"]["first_name"] = "Maximiliano" if locale == "en" else "Conceição"
        ctx["order"]["items"] = "ergonomic mesh office chair with adjustable lumbar support and 2 other items"
        ctx["shipment"]["location"] = "Hebron, KY, US - UPS Worldport Distribution Center"
        _, sms = render_all(case, locale, ctx)
        assert sms_segments(sms).segments <= 2, sms


def test_sample_contexts_carry_the_scan_and_handover_times() -> None:
    for situation in ("shipment.delayed", "shipment.exception", "shipment.stalled"):
        for stage in ("initial", "update", "resolved"):
            shipment = sample_context(situation, stage)["shipment"]
            assert isinstance(shipment["last_scan_at"], datetime) and shipment["last_scan_at"].tzinfo is not None
            assert isinstance(shipment["handed_over_at"], datetime)
            if stage == "resolved":
                assert shipment["last_scan_at"] == shipment["delivered_at"]
