"""A staff template that asks for too much fails as a template error, quickly, instead of holding a worker
thread for minutes or taking a gigabyte (engine/compose/limits.py)."""

import time
import tracemalloc
from datetime import UTC, datetime

import pytest

from engine.compose import render_message
from engine.compose.cleaning import SUBJECT_MAX_CHARS, fit_subject
from engine.compose.limits import MAX_OUTPUT_CHARS, RENDER_SECONDS
from engine.errors import TemplateError

pytestmark = [pytest.mark.faults, pytest.mark.timeout(60)]

NOW = datetime(2026, 3, 12, 15, 0, tzinfo=UTC)


def render(text: str, subject: str = "Your order") -> tuple[str | None, str]:
    parts = {"subject": subject, "text": text, "html": "<p>x</p>"}
    message = render_message(parts, {"now": NOW, "name": "Ana"}, channel="email", locale="en", timezone="UTC")
    return message.subject, message.text


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(1) }}", "calls itself too deeply"),
        ("{{ 'x' * 10**9 }}", "a value longer than"),
        ("{{ 'x' * 1000000000 }}", "a value longer than"),
        ("{{ [1, 2] * 900000 }}", "a value longer than"),
        ("{{ 2 ** 100000000 }}", "power is too large"),
        ("{{ 'x'.center(1000000000) }}", "a number over"),
        ("{{ 'x'|center(1000000000) }}", "a number over"),
        ("{{ 'x'|indent(1000000000) }}", "a number over"),
        ("{{ '%1000000000s' % 'x' }}", "format width"),
        ("{{ '%1000000000s'|format('x') }}", "format width"),
        ("{{ '{:>1000000000}'.format('x') }}", "format width"),
        (
            "{% for a in range(99999) %}{% for b in range(99999) %}x{% endfor %}{% endfor %}",
            "longer than",
        ),  # output, or time when loaded
        ("{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}", "longer than"),
        ("{% set l = range(99999)|list %}{% for a in l %}{% for b in l %}{% endfor %}{% endfor %}", "longer than"),
    ],
)
def test_a_template_that_asks_too_much_is_a_template_error_within_the_budget(source: str, said: str) -> None:
    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(TemplateError, match=said):
        render(source)
    took = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert took < RENDER_SECONDS + 1.5
    assert peak < 50 * MAX_OUTPUT_CHARS  # well under what the template asked for


def test_ordinary_templates_still_render_loops_and_formats() -> None:
    _, text = render(
        "{% for i in range(3) %}{{ loop.index }}/{{ loop.length }}{% if loop.last %}.{% endif %} {% endfor %}"
        "{{ '%05.1f' % 3.14159 }} {{ '{:>6}'.format(name) }} {{ 'ab' * 3 }} {{ 2 ** 10 }} {{ name|center(9) }}"
    )
    assert text == "1/3 2/3 3/3. 003.1    Ana ababab 1024    Ana\n"


def test_a_long_product_name_makes_a_subject_cut_at_a_word_with_an_ellipsis() -> None:
    name = " ".join(["Ergonomic adjustable standing desk with cable tray"] * 12)
    subject, _ = render("Body", subject="Your " + name + " is running late")
    assert subject is not None and len(subject) <= SUBJECT_MAX_CHARS
    assert subject.startswith("Your Ergonomic adjustable standing desk") and subject.endswith("…")
    assert not subject[:-1].endswith(" ")
    assert subject[:-1].split(" ")[-1] in name.split(" ")  # whole words only


def test_a_cut_never_separates_a_letter_from_its_accent() -> None:
    decomposed = "e\u0301" * 150  # "é" written as e + combining acute
    cut = fit_subject(decomposed)
    assert len(cut) <= SUBJECT_MAX_CHARS and cut.endswith("…")
    assert cut[:-1].endswith("\u0301")
