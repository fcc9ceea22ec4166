"""Incidents in a customer's words: components by name, status notes only when they say something."""

from __future__ import annotations

import pytest

from engine.compose.incidents import display_name, is_news


@pytest.mark.parametrize(
    ("component", "expected"),
    [
        ("order-tracking", "order tracking"),
        ("payments-api", "payments API"),
        ("mobile_app", "mobile app"),
        ("checkout", "checkout"),
        ("Payments API", "Payments API"),  # a status page's own display name is kept
        ("EU-West", "EU-West"),
    ],
)
def test_component_names_read_as_words(component: str, expected: str) -> None:
    assert display_name(component) == expected


@pytest.mark.parametrize(
    ("message", "news"),
    [
        ("We are currently investigating this issue.", False),
        ("This incident has been resolved.", False),
        ("Resolved.", False),
        ("  recovering ", False),
        (None, False),
        ("", False),
        ("Identified a failing database node.", True),
        ("Card payments work again; PayPal is still failing.", True),
    ],
)
def test_only_notes_that_say_something_are_news(message: str | None, news: bool) -> None:
    assert is_news(message) is news
