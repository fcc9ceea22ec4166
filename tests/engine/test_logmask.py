"""Recipients are masked before they reach a log line."""

from __future__ import annotations

import logging

import pytest

from engine.logmask import RedactingFilter, mask_email, mask_phone, redact


@pytest.mark.parametrize(
    ("address", "masked"),
    [("ana@example.com", "a***@example.com"), ("@example.com", "***@example.com"), ("nobody", "***"), (None, "")],
)
def test_mask_email(address: str | None, masked: str) -> None:
    assert mask_email(address) == masked


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+5511987654321", "+55******4321"),
        ("+14155550100", "+14******0100"),
        ("+4420123", "+******23"),
        ("1234", "******"),
        (None, ""),
    ],
)
def test_mask_phone(number: str | None, masked: str) -> None:
    assert mask_phone(number) == masked


def test_redact_masks_addresses_and_numbers_in_free_text() -> None:
    text = "refused {'ana@example.com': (550, b'no such user')} and +14155550100 for order A1001"
    assert redact(text) == "refused {'a***@example.com': (550, b'no such user')} and +14******0100 for order A1001"


def test_the_filter_masks_messages_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("forewarn.test.logmask")
    caplog.handler.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("texting %s", "+5511987654321")
            try:
                raise ValueError("bad recipient ana@example.com")
            except ValueError:
                logger.exception("channel raised")
    finally:
        caplog.handler.filters.clear()

    assert "+5511987654321" not in caplog.text and "+55******4321" in caplog.text
    assert "ana@example.com" not in caplog.text and "a***@example.com" in caplog.text
