"""How an order's lines are named mid-sentence: "your desk lamp and 2 other items"."""

from __future__ import annotations

import pytest

from engine.compose.context import describe_items


@pytest.mark.parametrize(
    ("names", "locale", "expected"),
    [
        (["Desk lamp"], "en", "desk lamp"),
        (["Desk lamp", "Wool blanket"], "en", "desk lamp and wool blanket"),
        (["Desk lamp", "Wool blanket", "Mug"], "en", "desk lamp and 2 other items"),
        (["iPhone case"], "en", "iPhone case"),
        ([], "en", "order"),
        (["Luminária", "Caneca", "Manta"], "pt-BR", "luminária e 2 outros itens"),
        # Two lines of one product (say, two colours) are one thing to the customer.
        (["Noise-cancelling headphones", "Noise-cancelling headphones"], "en", "noise-cancelling headphones"),
        (["Mug", "Desk lamp", "mug"], "en", "mug and desk lamp"),
    ],
)
def test_items_read_as_a_person_would_name_them(names: list[str], locale: str, expected: str) -> None:
    assert describe_items(names, locale) == expected
