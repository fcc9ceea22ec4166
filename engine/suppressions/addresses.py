"""One spelling per address, so a suppression matches however a feed wrote the number or the mailbox."""

from __future__ import annotations

import re

from engine.logmask import mask_email, mask_phone
from engine.vocabulary import Channel

# Separators people and feeds put inside phone numbers; none of them is part of the number.
PHONE_SEPARATORS = (" ", "\t", "(", ")", ".", "-", "/")
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")


def normalize_phone(raw: str) -> str:
    """`+55 (11) 98765-4321` and `0055 11 987654321` → `+5511987654321`; anything else is kept as digits.

    Feeds already hand over E.164 (`integrations/feeds` drops local formats it cannot dial), so this only
    removes punctuation and the international `00` prefix; it never guesses a country.
    """
    digits = _PHONE_PUNCTUATION.sub("", raw.strip())
    return "+" + digits[2:] if digits.startswith("00") else digits


def normalize_email(raw: str) -> str:
    """Lower-cased whole: mail providers treat the local part case-insensitively in practice."""
    return raw.strip().lower()


def normalize(channel: Channel, address: str) -> str:
    return normalize_email(address) if channel == Channel.EMAIL else normalize_phone(address)


def masked(channel: Channel, address: str) -> str:
    """For logs and the audit log: enough to recognise, not enough to contact."""
    return mask_email(address) if channel == Channel.EMAIL else mask_phone(address)
