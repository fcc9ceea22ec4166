"""Rendering one message: sandbox, strictness, cleanup, channel limits and locale-aware filters."""

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.compose import RenderedMessage, render_message
from engine.compose.render import _compile
from engine.errors import TemplateError

NOW = datetime(2026, 3, 12, 15, 0, tzinfo=UTC)  # Thursday 12 March 2026
FRIDAY_6PM_NY = datetime(2026, 3, 13, 22, 0, tzinfo=UTC)  # 18:00 in New York (EDT), 19:00 in São Paulo


def email(**parts: str) -> dict[str, str]:
    return {"subject": "Hi", "text": "Body", "html": "<p>Body</p>", **parts}


def render_text(
    source: str,
    context: Mapping[str, Any] | None = None,
    *,
    locale: str = "en",
    timezone: str = "America/New_York",
) -> str:
    variables = {"now": NOW, **(context or {})}
    message = render_message(email(text=source), variables, channel="email", locale=locale, timezone=timezone)
    return message.text.rstrip("\n")


# ------------------------------------------------------------------ filters


# (source, New York English, London English, São Paulo Portuguese)
FILTER_CASES = [
    ("{{ at|date }}", "Friday, March 13", "Friday, 13 March", "sexta-feira, 13 de março"),
    ("{{ at|short_date }}", "Fri, Mar 13", "Fri 13 Mar", "sex., 13 de mar."),
    ("{{ at|weekday }}", "Friday", "Friday", "sexta-feira"),
    ("{{ at|time }}", "6:00 PM", "22:00", "19:00"),
    ("{{ at|time(short=true) }}", "6pm", "10pm", "19h"),
    (
        "{{ at|datetime }}",
        "Friday, March 13 at 6:00 PM",
        "Friday, 13 March at 22:00",
        "sexta-feira, 13 de março, às 19:00",
    ),
    ("{{ at|relative_day }}", "tomorrow", "tomorrow", "amanhã"),
    ("{{ at|when }}", "6:00 PM tomorrow", "22:00 tomorrow", "amanhã às 19:00"),
    ("{{ at|add_days(4)|relative_day }}", "Tuesday", "Tuesday", "terça-feira"),
    (
        "{{ at|add_days(4)|range_to(at|add_days(5)) }}",
        "Tuesday or Wednesday",
        "Tuesday or Wednesday",
        "terça ou quarta-feira",
    ),
    ("{{ at|add_days(4)|range_to(at|add_days(5), short=true) }}", "Tue or Wed", "Tue or Wed", "17/03 ou 18/03"),
    ("{{ at|when(short=true) }}", "6pm tomorrow", "10pm tomorrow", "13/03 às 19h"),
    ("{{ now|when(short=true) }}", "11am today", "3pm today", "hoje às 12h"),
    (
        "{{ day_range(at, at|add_days(3)) }}",
        "between tomorrow and Monday",
        "between tomorrow and Monday",
        "entre amanhã e segunda-feira",
    ),
    ("{{ at|add_days(20)|relative_day }}", "Thursday, April 2", "Thursday, 2 April", "quinta-feira, 2 de abril"),
    # A range that reaches past the coming week: Babel's interval format (an en dash, U+2013; a plain hyphen
    # in SMS), never "Saturday or Sunday, 22 March".
    (
        "{{ at|add_days(1)|range_to(at|add_days(9)) }}",
        "Sat, Mar 14 \u2013 Sun, Mar 22",
        "Sat 14 Mar \u2013 Sun 22 Mar",
        "sáb., 14 de mar. \u2013 dom., 22 de mar.",
    ),
    (
        "{{ at|add_days(1)|range_to(at|add_days(9), short=true) }}",
        "Sat, Mar 14 - Sun, Mar 22",
        "Sat 14 Mar - Sun 22 Mar",
        "14/03 - 22/03",
    ),
    ("{{ at|by_day }}", "by tomorrow", "by tomorrow", "até amanhã"),
    ("{{ now|by_day }}", "today", "today", "hoje"),  # never "by today"
    ("{{ at|add_days(4)|on_day }}", "on Tuesday", "on Tuesday", "na terça-feira"),
    ("{{ now|time_range(at) }}", "11:00 AM \u2013 6:00 PM", "15:00\u201322:00", "12:00 \u2013 19:00"),
    ("{{ total|money }}", "R$109.29", "R$109.29", "R$ 109,29"),
    (
        "{{ ['checkout', 'payments', 'search']|join_list }}",
        "checkout, payments, and search",
        "checkout, payments and search",
        "checkout, payments e search",
    ),
]


@pytest.mark.parametrize(("source", "american", "british", "portuguese"), FILTER_CASES)
def test_filters_speak_the_customers_language_in_their_time_zone(
    source: str, american: str, british: str, portuguese: str
) -> None:
    """`en` takes its territory from the customer's zone: month first in New York, day first in London."""
    context = {"at": FRIDAY_6PM_NY, "total": {"amount": "109.29", "currency": "BRL"}}
    assert render_text(source, context) == american
    assert render_text(source, context, timezone="Europe/London") == british
    assert render_text(source, context, locale="pt-BR", timezone="America/Sao_Paulo") == portuguese


@pytest.mark.parametrize(
    ("source", "spanish", "german", "japanese"),
    [
        ("{{ at|date }}", "viernes, 13 de marzo", "Freitag, 13. März", "3月14日(土)"),
        ("{{ at|when }}", "mañana a las 23:00", "morgen um 23:00 Uhr", "明日7:00"),
        ("{{ at|add_days(3)|when }}", "el lunes a las 23:00", "Montag um 23:00 Uhr", "火曜日 7:00"),
        (
            "{{ at|add_days(4)|range_to(at|add_days(5)) }}",
            "el martes o el miércoles",
            "Dienstag oder Mittwoch",
            "水曜日か木曜日",
        ),
        ("{{ at|add_days(3)|by_day }}", "para el lunes", "bis Montag", "火曜日までに"),
        ("{{ at|add_days(4)|on_day }}", "el martes", "am Dienstag", "水曜日に"),
        ("{{ at|time(short=true) }}", "23:00", "23 Uhr", "7時"),
    ],
)
def test_spanish_german_and_japanese_read_natively(source: str, spanish: str, german: str, japanese: str) -> None:
    context = {"at": FRIDAY_6PM_NY}
    assert render_text(source, context, locale="es", timezone="Europe/Madrid") == spanish
    assert render_text(source, context, locale="de-DE", timezone="Europe/Berlin") == german
    assert render_text(source, context, locale="ja-JP", timezone="Asia/Tokyo") == japanese


def test_relative_day_counts_days_on_the_customers_calendar_not_utc() -> None:
    # 02:00 UTC on Friday is still Thursday evening in New York: "today", not "tomorrow".
    late_evening = datetime(2026, 3, 13, 2, 0, tzinfo=UTC)
    assert render_text("{{ at|relative_day }} {{ at|time }}", {"at": late_evening}) == "today 10:00 PM"


def test_times_are_correct_on_both_sides_of_the_dst_change() -> None:
    # New York springs forward at 2:00 AM on 8 March 2026: 1:30 AM EST, then 3:30 AM EDT one hour later.
    before = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
    after = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    source = "{{ before|time }} / {{ after|time }} / {{ after|date }}"
    assert render_text(source, {"before": before, "after": after}) == "1:30 AM / 3:30 AM / Sunday, March 8"


def test_formatted_values_use_plain_spaces_so_an_sms_stays_gsm7() -> None:
    # CLDR writes "6:00\u202fPM" and "R$\xa0109,29"; either space alone would make an SMS UCS-2.
    text = render_text("{{ at|datetime }} {{ '5'|money('BRL') }}", {"at": FRIDAY_6PM_NY}, locale="pt-BR")
    assert "\u202f" not in text and "\xa0" not in text
    assert "\u202f" not in render_text("{{ at|when }}", {"at": FRIDAY_6PM_NY})


def test_unknown_locales_format_in_english() -> None:
    assert render_text("{{ at|date }}", {"at": FRIDAY_6PM_NY}, locale="xx-YY") == "Friday, March 13"
    assert render_text("{{ at|date }}", {"at": FRIDAY_6PM_NY}, locale="xx-YY", timezone="Europe/London") == (
        "Friday, 13 March"
    )


def test_money_takes_an_amount_and_a_currency_code() -> None:
    assert render_text("{{ '1234.5'|money('USD') }}") == "$1,234.50"
    assert render_text("{{ '1234.5'|money('EUR') }}", locale="pt-BR") == "€ 1.234,50"


@pytest.mark.parametrize(
    ("source", "context", "message"),
    [
        ("{{ at|date }}", {"at": None}, "needs a datetime, got None"),
        ("{{ at|date }}", {"at": datetime(2026, 3, 13, 12, 0)}, "naive datetime"),
        ("{{ at|date }}", {"at": "2026-03-13"}, "needs a datetime, got str"),
        ("{{ total|money }}", {"total": None}, "money filter needs an amount"),
    ],
)
def test_filter_misuse_is_a_template_error_naming_the_line(source: str, context: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError, match=message) as info:
        render_text("Hi\n" + source, context)
    assert "text template, line 2" in str(info.value)


def test_an_unknown_time_zone_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="unknown time zone 'Mars/Olympus'"):
        render_text("{{ at|time }}", {"at": FRIDAY_6PM_NY}, timezone="Mars/Olympus")


# ------------------------------------------------------------------ strictness and sandbox


@pytest.mark.parametrize("source", ["Hi {{ customer.nickname }}", "Hi {{ nope }}", "{{ nope|date }}"])
def test_a_name_that_does_not_exist_is_an_error_not_a_blank(source: str) -> None:
    with pytest.raises(TemplateError, match=r"text template, line 3: unknown variable"):
        render_text("\n\n" + source, {"customer": {"first_name": "Ana"}})


def test_none_values_are_fine_when_guarded() -> None:
    source = "{% if shipment %}{{ shipment.carrier }}{% else %}not shipped{% endif %}"
    assert render_text(source, {"shipment": None}) == "not shipped"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ customer.__class__ }}",
        "{{ customer.update({'first_name': 'x'}) }}",  # immutable sandbox: no mutating methods
        "{{ lipsum.__globals__ }}",
    ],
)
def test_the_sandbox_refuses_unsafe_access(source: str) -> None:
    with pytest.raises(TemplateError, match="text template, line 1"):
        render_text(source, {"customer": {"first_name": "Ana"}})


def test_a_syntax_error_names_the_part_and_the_line() -> None:
    with pytest.raises(TemplateError, match=r"subject template, line 2: syntax error"):
        render_message(email(subject="Hi\n{% if %}"), {"now": NOW}, channel="email", locale="en", timezone="UTC")


def test_context_keys_win_over_dict_methods() -> None:
    # `order.items` is the contract's item summary, not dict.items().
    assert render_text("{{ order.items }} / {{ order.keys }}", {"order": {"items": "desk lamp", "keys": 2}}) == (
        "desk lamp / 2"
    )


# ------------------------------------------------------------------ email


def test_html_escapes_values_and_text_keeps_them_plain() -> None:
    context = {"now": NOW, "order": {"items": "<script>alert(1)</script> & co"}}
    sources = email(subject="Your {{ order.items }}", text="{{ order.items }}", html="<p>{{ order.items }}</p>")
    message = render_message(sources, context, channel="email", locale="en", timezone="UTC")
    assert message.html == "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; co</p>\n"
    assert message.text == "<script>alert(1)</script> & co\n"
    assert message.subject == "Your <script>alert(1)</script> & co"


def test_subject_whitespace_collapses_to_one_line() -> None:
    sources = email(subject="{% if late %}\n  Your   desk lamp\tis late  \n{% endif %}\n")
    message = render_message(sources, {"late": True}, channel="email", locale="en", timezone="UTC")
    assert message.subject == "Your desk lamp is late"


@pytest.mark.parametrize(
    "gap",
    [
        "  ",  # a value ending in a space, then the template's own space
        "\xa0 ",  # no-break space (CLDR, pasted product names)
        "\u202f",  # narrow no-break space (CLDR's "6:00 PM")
        " \u2009",  # thin space
        "\u3000",  # ideographic space
        "\t ",  # a tab from an indented template line
        " \u200b ",  # zero-width space between two spaces: still looks like two
        "\ufeff\xa0",  # a byte-order mark pasted from a spreadsheet
    ],
    ids=["spaces", "nbsp", "narrow-nbsp", "thin", "ideographic", "tab", "zero-width", "bom"],
)
def test_any_run_of_spaces_in_a_subject_becomes_one_plain_space(gap: str) -> None:
    # "…coffee beans  — new estimate Saturday" must never reach an inbox with two spaces in it.
    source = "Bad weather has held up your {{ items }}{{ gap }}— new estimate {{ when }}"
    context = {"items": "espresso grinder and coffee beans", "gap": gap, "when": "Saturday or Sunday"}
    message = render_message(email(subject=source), context, channel="email", locale="en", timezone="UTC")
    assert (
        message.subject
        == "Bad weather has held up your espresso grinder and coffee beans — new estimate Saturday or Sunday"
    )


def test_a_value_padded_with_no_break_spaces_is_trimmed_in_a_subject() -> None:
    context = {"items": "\u202fcoffee beans\xa0", "now": NOW}
    message = render_message(
        email(subject="Your {{ items }} — {{ now|time }}"), context, channel="email", locale="en", timezone="UTC"
    )
    assert message.subject == "Your coffee beans — 3:00 PM"


@pytest.mark.parametrize(
    ("subject", "context"),
    [("Line one\nLine two", {}), ("Hi {{ name }}", {"name": "Ana\r\nBcc: someone@example.com"})],
)
def test_a_subject_with_a_line_break_inside_is_refused(subject: str, context: dict[str, str]) -> None:
    with pytest.raises(TemplateError, match="subject must be one line"):
        render_message(email(subject=subject), context, channel="email", locale="en", timezone="UTC")


def test_an_empty_subject_is_refused() -> None:
    with pytest.raises(TemplateError, match="subject is empty"):
        render_message(email(subject="{% if false %}x{% endif %}"), {}, channel="email", locale="en", timezone="UTC")


def test_text_loses_trailing_spaces_and_extra_blank_lines() -> None:
    source = "Hi Ana,   \n\n{% if false %}\nhidden\n{% endif %}\n\n\n\nBye\n\n"
    assert render_text(source) == "Hi Ana,\n\nBye"


def test_email_needs_subject_text_and_html() -> None:
    with pytest.raises(TemplateError, match="email needs the template parts html"):
        render_message({"subject": "a", "text": "b"}, {}, channel="email", locale="en", timezone="UTC")


# ------------------------------------------------------------------ sms


def sms(source: str, **context: Any) -> RenderedMessage:
    return render_message({"sms": source}, context, channel="sms", locale="en", timezone="UTC")


def test_sms_is_one_paragraph_with_single_spaces() -> None:
    message = sms("Acme:   Hi Ana,\n  your lamp\n\nis late.  ")
    assert message == RenderedMessage(subject=None, text="Acme: Hi Ana, your lamp is late.", html=None)


def test_an_sms_over_two_segments_gets_one_compact_retry() -> None:
    source = "Acme: {% if sms_compact %}short{% else %}{{ 'long ' * 80 }}{% endif %}"
    assert sms(source).text == "Acme: short"
    assert sms("Acme: {% if sms_compact %}short{% else %}fits{% endif %}").text == "Acme: fits"


def test_an_sms_that_never_fits_names_its_segment_count() -> None:
    with pytest.raises(TemplateError, match=r"sms template.*needs 3 segments \(GSM-7, 400 characters\)"):
        sms("{{ 'x' * 400 }}")


def test_an_empty_sms_is_refused() -> None:
    with pytest.raises(TemplateError, match="message is empty"):
        sms("{% if false %}x{% endif %}")


# ------------------------------------------------------------------ performance and threads


def test_compiled_templates_are_reused_across_renders() -> None:
    source = "Compiled once for {{ who }} " + "x" * 10  # unique to this test
    render_text(source, {"who": "Ana"})
    before = _compile.cache_info()
    for who in ("Bo", "Cy", "Di"):
        render_text(source, {"who": who})
    after = _compile.cache_info()
    assert after.misses == before.misses
    assert after.hits >= before.hits + 3


def test_concurrent_renders_keep_their_own_locale_and_time_zone() -> None:
    def one(index: int) -> tuple[str, str]:
        portuguese = index % 2 == 0
        locale, zone = ("pt-BR", "America/Sao_Paulo") if portuguese else ("en", "America/Los_Angeles")
        at = FRIDAY_6PM_NY + timedelta(days=index % 5)
        expected = render_text("{{ at|datetime }}", {"at": at}, locale=locale, timezone=zone)
        return expected, locale

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(200)))
    for text, locale in results:
        assert ("às" in text) == (locale == "pt-BR")
        assert ("AM" in text or "PM" in text) == (locale == "en")
