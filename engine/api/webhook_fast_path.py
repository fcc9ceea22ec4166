"""POST /webhooks/{source} answered straight from ASGI, before Starlette's router and the console's middleware.

Webhooks are nearly all of the API's traffic, and through FastAPI each one paid for the whole stack: the
route table tried in order, the request and response objects, the security-headers middleware wrapping
`send`, the exception middleware; about half of a webhook's CPU in the API process. This middleware sits
outermost (inside Starlette's ServerErrorMiddleware only), recognises a POST to `/webhooks/<one segment>`
and runs `engine.api.webhooks.accept` itself on the raw headers and body; every other request goes on
down the stack untouched.

What the sender sees is what the route answers: the same 202 body, the same RFC 9457 problems (404 for an
unknown source, 413, 401, 400, 503 + Retry-After for a database outage or a broker away past its grace),
the same security headers. An unexpected error is raised to ServerErrorMiddleware as it was from the route
(a 500 problem, the error's kind logged). The signature is still checked by the feed on the raw bytes, in
constant time, and nothing here logs a path, header or body. The route stays declared for /openapi.json
and answers what this leaves alone (an app mounted under a root path).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from starlette.datastructures import QueryParams, State
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.api.problems import Problem, unexpected
from engine.api.security import RAW_DEFAULT_HEADERS
from engine.api.webhooks import accept
from engine.quarantine import OUTAGES

PREFIX = "/webhooks/"
_ACCEPTED_HEADERS = [(b"content-type", b"application/json"), *RAW_DEFAULT_HEADERS]


def webhook_source(scope: Scope) -> str | None:
    """The `{source}` of a POST /webhooks/{source} this path answers, else None (the router's to answer)."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
        return None
    path: str = scope["path"]
    if not path.startswith(PREFIX):
        return None
    source = path[len(PREFIX) :]
    return source if source and "/" not in source else None


class WebhookFastPath:
    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        source = webhook_source(scope)
        if source is None:
            await self.app(scope, receive, send)
            return
        # As Starlette's Headers and QueryParams read them: latin-1 names lower-cased, the last value wins.
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        query = dict(QueryParams(scope["query_string"])) if scope.get("query_string") else {}
        try:
            result = await accept(self.state, source, _chunks(receive), headers, query)
        except OUTAGES as exc:  # as the exception middleware answered them for the route: 503 + Retry-After
            result = await unexpected(Request(scope), exc)
        if isinstance(result, Problem):
            await _send(send, result.status_code, result.raw_headers + RAW_DEFAULT_HEADERS, result.body)
            return
        body = b'{"accepted":%d,"duplicates":%d}' % (len(result.accepted), result.duplicates)
        await _send(send, 202, [(b"content-length", b"%d" % len(body)), *_ACCEPTED_HEADERS], body)


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The request body as it arrives (Starlette's `Request.stream`, without the Request)."""
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunk: bytes = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes | memoryview) -> None:
    start: dict[str, Any] = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})
