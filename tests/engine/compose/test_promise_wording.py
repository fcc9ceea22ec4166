"""Whether a message says the order will miss its promised day follows the data, never the template.

The context's `delivery` facts compare the carrier's estimate with `order.promised_by` on the customer's
calendar (engine/compose/facts.py), and every seed says exactly one of:

- estimate on a later day than the promise (or the promised day has passed) → "won't reach you by Friday";
- estimate on or before the promised day → the carrier "still expects" it by the promised day, no delay claim;
- no estimate → "may not reach you by Friday": no certainty either way.

Each case renders the email and the SMS in all five languages with the estimate after the promise, before
it, on the promised day but later in the evening, and missing.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.seed_cases import render
from support.words import LATE, LOCALES, says

from engine.compose import sms_segments
from engine.compose.facts import derive
from engine.compose.seeds import sample_context

# (situation, stage, problem); order.late_to_ship has no estimate to compare, so it is not here.
Case = tuple[str, str, str | None]
CASES: list[Case] = [
    ("shipment.exception", "initial", "weather"),
    ("shipment.exception", "initial", "customs"),
    ("shipment.delayed", "initial", None),
    ("shipment.delayed", "update", None),
    ("shipment.exception", "update", "weather"),
]
# The promised day as the email prints it, and the day after it in each form the seeds print it.
PROMISED_DAY = {
    "en": "Friday, March 13",
    "pt-BR": "sexta-feira, 13 de março",
    "es": "viernes, 13 de marzo",
    "de": "Freitag, 13. März",
    "ja": "3月14日(土)",  # Tokyo is a day ahead
}
DAY_AFTER = {
    "en": ("Saturday", "Sat"),
    "pt-BR": ("sábado", "14/03"),
    "es": ("sábado", "14/03"),
    "de": ("Samstag",),
    "ja": ("日曜日", "3/15"),
}
MAY_MISS = {
    "en": "may not reach you by",
    "pt-BR": "pode não chegar até",
    "es": "no llegue para",
    "de": "möglicherweise nicht",
    "ja": "お届けできない可能性があります",
}
STILL_IN_TIME = {
    "en": ("still expects", "in time for"),
    "pt-BR": ("ainda prevê a entrega até", "a tempo de"),
    "es": ("sigue contando con entregarlo", "a tiempo para"),
    "de": ("rechnet weiterhin mit der zustellung", "rechtzeitig"),
    "ja": ("お約束どおり", "間に合う見込み"),
}


def case_id(case: Case) -> str:
    return "-".join(part for part in case if part)


def context(case: Case, locale: str, eta: Callable[[datetime], datetime | None]) -> dict[str, Any]:
    situation, stage, problem = case
    ctx = sample_context(situation, stage, locale=locale, exception=problem or "weather")
    ctx["shipment"]["estimated_delivery_at"] = eta(ctx["order"]["promised_by"])
    return derive(ctx)


def render_all(case: Case, locale: str, ctx: dict[str, Any]) -> tuple[str, str]:
    """(the email's subject and text in one string, the SMS)."""
    mail = render(case[0], case[1], locale, "email", ctx)
    sms = render(case[0], case[1], locale, "sms", ctx)
    return "\n".join((mail.subject or "", mail.text)), sms.text


AFTER = lambda promise: promise + timedelta(days=3)  # noqa: E731
DAY_BEFORE = lambda promise: promise - timedelta(days=1)  # noqa: E731
SAME_DAY_EARLIER = lambda promise: promise - timedelta(hours=5)  # noqa: E731
SAME_DAY_LATER = lambda promise: promise + timedelta(hours=1)  # noqa: E731  (later that evening, same date)
NONE = lambda promise: None  # noqa: E731


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_an_estimate_after_the_promise_says_it_will_miss_it(case: Case, locale: str) -> None:
    mail, _ = render_all(case, locale, context(case, locale, AFTER))
    assert says(mail, LATE[locale]), mail
    assert PROMISED_DAY[locale] in mail


@pytest.mark.parametrize("eta", [DAY_BEFORE, SAME_DAY_EARLIER, SAME_DAY_LATER], ids=["day before", "earlier", "later"])
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_an_estimate_on_or_before_the_promised_day_claims_no_delay(
    case: Case, locale: str, eta: Callable[[datetime], datetime]
) -> None:
    ctx = context(case, locale, eta)
    if locale == "ja":  # the sample promise is 06:00 Saturday in Tokyo; keep the estimate on the same day
        ctx["shipment"]["estimated_delivery_at"] = ctx["order"]["promised_by"] - timedelta(hours=3)
        derive(ctx)
    mail, sms = render_all(case, locale, ctx)
    assert says(mail, LATE[locale]) == [], mail
    assert says(sms, LATE[locale]) == [], sms
    assert MAY_MISS[locale] not in mail
    body = mail.split("\n--\n")[0]
    assert says(body, STILL_IN_TIME[locale]), body
    # The window is clipped at the promise: "Friday or Saturday" would take back the reassurance.
    for day in DAY_AFTER[locale]:
        assert day not in mail + sms, (day, mail, sms)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_no_estimate_is_no_certainty_either_way(case: Case, locale: str) -> None:
    mail, sms = render_all(case, locale, context(case, locale, NONE))
    assert says(mail, LATE[locale]) == [], mail
    assert says(sms, LATE[locale]) == [], sms
    assert MAY_MISS[locale] in mail
    assert says(mail, STILL_IN_TIME[locale][:1]) == []


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_promised_day_that_has_passed_is_owned_in_the_past_tense(case: Case, locale: str) -> None:
    ctx = context(case, locale, NONE)
    ctx["order"]["promised_by"] = ctx["now"] - timedelta(days=2)  # Tuesday; nothing delivered
    mail, _ = render_all(case, locale, derive(ctx))
    assert says(mail, LATE[locale]), mail
    assert MAY_MISS[locale] not in mail
    future = {
        "en": "won't reach",
        "pt-BR": "não vai chegar",
        "es": "no llegará",
        "de": "kommt nicht wie",
        "ja": "見込み",
    }
    assert future[locale] not in mail


@pytest.mark.parametrize("locale", LOCALES)
def test_a_stale_estimate_in_the_past_counts_as_no_estimate(locale: str) -> None:
    case = CASES[0]
    ctx = context(case, locale, lambda promise: promise - timedelta(days=3))  # Monday, already gone
    assert ctx["delivery"]["eta"] is None
    mail, _ = render_all(case, locale, ctx)
    assert MAY_MISS[locale] in mail


def test_the_demo_weather_hold_with_an_estimate_before_the_promise_reassures() -> None:
    # The demo's story: promised Saturday evening, the carrier's new estimate earlier that Saturday.
    ctx = sample_context("shipment.exception", "initial", locale="en", exception="weather")
    names = ["Espresso grinder", "Coffee beans"]
    ctx["order"].update(lines=[{"name": n, "quantity": 1} for n in names], items="espresso grinder and coffee beans")
    ctx["order"]["promised_by"] = datetime(2026, 3, 14, 21, 0, tzinfo=UTC)  # 5 PM in New York
    ctx["shipment"]["estimated_delivery_at"] = datetime(2026, 3, 14, 15, 0, tzinfo=UTC)
    mail, sms = render_all(CASES[0], "en", derive(ctx))
    subject = mail.split("\n")[0]
    assert says(mail + sms, LATE["en"]) == []
    assert subject == "Bad weather may slow down your espresso grinder and coffee beans — still expected by Saturday"
    assert "UPS still expects to deliver it by Saturday, March 14, the day we promised" in mail


@pytest.mark.parametrize(
    ("locale", "email_words", "sms_words"),
    [
        ("en", "hasn't moved since UPS last scanned it on Tuesday, March 10 in Columbus, OH", "since Tue, Mar 10"),
        ("pt-BR", "registrou pela última vez, na terça-feira, 10 de março, em Campinas, SP", "desde 10/03"),
        ("es", "lo registró por última vez el martes, 10 de marzo, en Zaragoza", "Lucía"),  # UCS-2: the short text
        ("de", "zuletzt am Dienstag, 10. März in Leipzig erfasst hat", "seit 10.03."),
        ("ja", "3月10日(火)に羽田クロノゲートでヤマト運輸が最後に記録して以来", "3/10から"),
    ],
)
def test_a_stalled_parcel_says_since_when_from_the_last_scan(locale: str, email_words: str, sms_words: str) -> None:
    ctx = sample_context("shipment.stalled", "initial", locale=locale)
    assert ctx["shipment"]["last_scan_at"] == ctx["now"] - timedelta(days=2, hours=4)
    mail, sms = render_all(("shipment.stalled", "initial", None), locale, ctx)
    assert email_words in mail
    assert sms_words in sms


@pytest.mark.parametrize("locale", LOCALES)
def test_a_label_is_not_a_handover_late_to_ship_owns_it_until_the_carrier_has_the_parcel(locale: str) -> None:
    ctx = sample_context("shipment.delayed", "initial", locale=locale)
    ctx["situation"]["kind"] = "order.late_to_ship"
    ctx["shipment"].update(status="label_created", handed_over_at=None, estimated_delivery_at=None)
    assert derive(ctx)["delivery"]["status"] == "not_shipped"
    mail, _ = render_all(("order.late_to_ship", "initial", None), locale, ctx)
    label = {"en": "label is ready", "pt-BR": "etiqueta", "es": "etiqueta", "de": "Versandetikett", "ja": "送り状"}
    assert label[locale] in mail


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_wording_still_fits_two_sms_segments_with_long_values(case: Case, locale: str) -> None:
    for eta in (AFTER, DAY_BEFORE, NONE):
        ctx = context(case, locale, eta)
        ctx["customer"]["first_name"] = "Maximiliano" if locale == "en" else "Conceição"
        ctx["order"]["items"] = "ergonomic mesh office chair with adjustable lumbar support and 2 other items"
        ctx["shipment"]["location"] = "Hebron, KY, US - UPS Worldport Distribution Center"
        _, sms = render_all(case, locale, derive(ctx))
        assert sms_segments(sms).segments <= 2, sms
        assert ctx["customer"]["first_name"] in sms, sms
