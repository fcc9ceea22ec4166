"""How many SMS segments a text costs: GSM 03.38 (7-bit) when every character fits, else UCS-2."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from engine.errors import TemplateError

Encoding = Literal["GSM-7", "UCS-2"]

# GSM 03.38 basic character set (the escape code 0x1B left out), one septet each.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs two septets (escape + code).
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

# Limits per segment: a lone message vs one part of a concatenated message (the rest is the UDH).
SINGLE_LIMIT: dict[Encoding, int] = {"GSM-7": 160, "UCS-2": 70}
MULTIPART_LIMIT: dict[Encoding, int] = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class SmsEncoding:
    """`characters` counts what the limits count: septets for GSM-7, UTF-16 code units for UCS-2."""

    encoding: Encoding
    characters: int
    segments: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _costs(text: str, encoding: Encoding) -> list[int]:
    if encoding == "GSM-7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def sms_segments(text: str) -> SmsEncoding:
    """Count the segments a carrier bills for `text`.

    Multipart packing is greedy and never splits an escape pair or a surrogate pair across
    segments, as handsets and SMSCs do, so the count matches what is actually sent.
    """
    encoding: Encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    costs = _costs(text, encoding)
    total = sum(costs)
    if total == 0:
        return SmsEncoding(encoding, 0, 0)
    if total <= SINGLE_LIMIT[encoding]:
        return SmsEncoding(encoding, total, 1)
    limit = MULTIPART_LIMIT[encoding]
    segments, used = 1, 0
    for cost in costs:
        if used + cost > limit:
            segments += 1
            used = 0
        used += cost
    return SmsEncoding(encoding, total, segments)


def check_sms_budget(text: str, max_segments: int = 2) -> SmsEncoding:
    """Return the encoding of `text`, or raise TemplateError when it needs more than `max_segments`."""
    result = sms_segments(text)
    if result.segments > max_segments:
        non_gsm = sorted({ch for ch in text if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION})
        hint = ""
        if non_gsm:
            shown = "".join(non_gsm[:8])
            hint = f"; these characters force UCS-2: {shown!r}"
        raise TemplateError(
            f"SMS needs {result.segments} segments ({result.encoding}, {result.characters} characters); "
            f"the limit is {max_segments}{hint}"
        )
    return result
