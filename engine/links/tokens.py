"""Signed status-page tokens: what a `/s/{token}` link shows, signed with FOREWARN_SECRET_KEY.

A token names one thing — an order (`o`), an incident (`i`) or a customer's open matters (`c`) — and
carries an HMAC-SHA256 of it, cut to 42 bits, so that nobody can make one for an order that is not theirs:
a forger must try ~2·10^12 links, one request at a time, to expect one hit. Short on purpose: a link in a
text costs characters (a UCS-2 text has 134 for two segments). Layout: an order's token is its signature
(7) + the id; another page's is `.`, its kind and the same. The id is as it is when it is URL-safe (order
ids are not personal data; the old links carried them too), else `~` and its base64.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from enum import StrEnum


class Page(StrEnum):
    ORDER = "o"
    INCIDENT = "i"
    CUSTOMER = "c"


_SIGNATURE_CHARS = 7  # 42 bits of the HMAC in base64url
_PLAIN = re.compile(r"[A-Za-z0-9_-]+")
_KINDS = frozenset(p.value for p in Page)


def make_token(secret_key: str, page: Page, ref: str) -> str:
    shown = ref if _PLAIN.fullmatch(ref) else "~" + _b64(ref.encode())
    prefix = "" if page == Page.ORDER else f".{page}"
    return f"{prefix}{_sign(secret_key, page, ref)}{shown}"


def read_token(secret_key: str, token: str) -> tuple[Page, str] | None:
    """What the token names, or None if we did not make it."""
    kind = Page.ORDER.value
    if token.startswith("."):
        kind, token = token[1:2], token[2:]
    signature, shown = token[:_SIGNATURE_CHARS], token[_SIGNATURE_CHARS:]
    if kind not in _KINDS or len(signature) < _SIGNATURE_CHARS or not shown:
        return None
    if shown.startswith("~"):
        try:
            ref = base64.urlsafe_b64decode(shown[1:] + "=" * (-len(shown[1:]) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            return None
    else:
        ref = shown
    page = Page(kind)
    # Compared as bytes: compare_digest refuses str with non-ASCII characters, and a link is anyone's input.
    if not ref or not hmac.compare_digest(signature.encode(), _sign(secret_key, page, ref).encode()):
        return None
    return page, ref


def _sign(secret_key: str, page: Page, ref: str) -> str:
    digest = hmac.new(secret_key.encode(), f"status:{page}:{ref}".encode(), hashlib.sha256).digest()
    return _b64(digest[:6])[:_SIGNATURE_CHARS]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
