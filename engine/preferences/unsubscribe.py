"""Signed, unguessable unsubscribe tokens (RFC 8058 one-click links carry them)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from engine.config import Settings


def make_token(settings: Settings, customer_id: str) -> str:
    return sign_token(settings.secret_key, customer_id)


def sign_token(secret_key: str, customer_id: str) -> str:
    payload = base64.urlsafe_b64encode(customer_id.encode()).decode().rstrip("=")
    return f"{payload}.{_sign(secret_key, payload)}"


def read_token(settings: Settings, token: str) -> str | None:
    """The customer id the token was made for, or None if it was not made by us."""
    payload, _, signature = token.partition(".")
    # Compared as bytes: compare_digest refuses str with non-ASCII characters, and a link is anyone's input.
    if not payload or not hmac.compare_digest(signature.encode(), _sign(settings.secret_key, payload).encode()):
        return None
    try:
        return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def unsubscribe_url(settings: Settings, customer_id: str) -> str:
    return f"{settings.public_url.rstrip('/')}/unsubscribe/{make_token(settings, customer_id)}"


def _sign(secret_key: str, payload: str) -> str:
    digest = hmac.new(secret_key.encode(), f"unsubscribe:{payload}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:20]).decode().rstrip("=")
