"""Security headers on every response, and a per-request CSP nonce for the console's scripts.

Console pages (`/ops…`, `/`) get a Content-Security-Policy that runs only the console's own scripts
carrying this request's nonce, loads nothing from elsewhere, and may not be framed (`frame-ancestors
'none'`); they also get `Cache-Control: no-store`, as they show customers' personal data. Every response
gets `nosniff`, `X-Frame-Options: DENY` and a same-origin referrer policy. A route that needs different
values (the email preview frame) sets its own: headers already on a response are left alone.
"""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

NONCE_KEY = "csp_nonce"


def csp_nonce(request: Request) -> str:
    """This request's nonce, made on first use: most requests (every webhook) never render a script tag,
    and drawing 18 random bytes from the OS for each of them was a measurable part of a webhook's CPU."""
    state = request.scope.setdefault("state", {})
    nonce: str | None = state.get(NONCE_KEY)
    if nonce is None:
        nonce = state[NONCE_KEY] = secrets.token_urlsafe(18)
    return nonce


def console_policy(nonce: str) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "frame-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "object-src 'none'",
            "frame-ancestors 'none'",
        )
    )


# What every response carries (a route's own value wins); raw, for the webhook fast path that sends its own.
DEFAULT_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}
RAW_DEFAULT_HEADERS = [(name.lower().encode(), value.encode()) for name, value in DEFAULT_HEADERS.items()]


def _is_console(path: str) -> bool:
    return path == "/" or path == "/ops" or path.startswith("/ops/")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        console = _is_console(scope["path"])

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                defaults = dict(DEFAULT_HEADERS)
                if console:
                    # The nonce the page's script tags were given, or a fresh one if it had none.
                    nonce = state.get(NONCE_KEY) or state.setdefault(NONCE_KEY, secrets.token_urlsafe(18))
                    defaults["Content-Security-Policy"] = console_policy(nonce)
                    defaults["Cache-Control"] = "no-store"
                for name, value in defaults.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
