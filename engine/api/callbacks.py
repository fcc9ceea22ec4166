"""POST /webhooks/{provider}/status and /webhooks/{provider}/inbound: a channel provider calling back
about our messages (Twilio: delivery reports and customers' texts). The provider's adapter verifies the
signature and reads its format (`engine.delivery.channel.Callbacks`); a bad signature is 403."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from engine.api.deps import RuntimeDep
from engine.api.problems import problem, problems
from engine.api.webhooks import BodyTooLarge, read_body
from engine.delivery.channel import CallbackError, Callbacks
from engine.delivery.provider_status import apply_status, receive_text
from engine.runtime import Runtime

router = APIRouter(tags=["webhooks"])
T = TypeVar("T")

MAX_FORM_BYTES = 64 * 1024  # a provider's callback is a few hundred bytes; a long text is still well under this


async def _verified(request: Request, rt: Runtime, provider: str) -> tuple[Callbacks, dict[str, str]] | None:
    callbacks = rt.callbacks.get(provider)
    if callbacks is None:
        return None  # not configured (no auth token): nothing can be verified, nothing is accepted
    try:
        body = await read_body(request, MAX_FORM_BYTES)
    except BodyTooLarge:
        return None
    # The provider signs the URL it called: ours as configured, not as a proxy in front of us rewrote it.
    url = rt.settings.public_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        return callbacks, dict(callbacks.verify(url, body, headers))
    except CallbackError:
        return None


def _in_transaction(rt: Runtime, act: Callable[[Session], T]) -> T:
    with rt.unit_of_work() as session:
        return act(session)


def _forbidden() -> JSONResponse:
    return problem(403, "missing or wrong callback signature")


_ANSWERS = {200: {"description": "the provider's own answer format"}, **problems(403)}


@router.post("/webhooks/{provider}/status", response_model=None, responses=_ANSWERS)
async def provider_status(request: Request, rt: RuntimeDep, provider: str) -> Response:
    def record(callbacks: Callbacks, fields: Mapping[str, str]) -> str | None:
        report = callbacks.status(fields)
        if report is not None:
            # An unknown message id is answered 200 as well: the provider must not retry what we cannot match.
            _in_transaction(rt, lambda session: apply_status(session, rt, provider, report))
        return None

    return await _answer(request, rt, provider, record)


@router.post("/webhooks/{provider}/inbound", response_model=None, responses=_ANSWERS)
async def provider_inbound(request: Request, rt: RuntimeDep, provider: str) -> Response:
    def receive(callbacks: Callbacks, fields: Mapping[str, str]) -> str | None:
        text = callbacks.inbound(fields)
        if text is None:
            return None
        received = _in_transaction(rt, lambda session: receive_text(session, text, at=rt.clock.now()))
        if received.kind != "help":
            # STOP and START: the provider itself sends the confirmation carriers require, so we add nothing.
            return None
        settings = rt.settings
        return (
            f"{settings.brand_name}: proactive order and service updates. Reply STOP to opt out. "
            f"Help: {settings.support_email}"
        )

    return await _answer(request, rt, provider, receive)


async def _answer(
    request: Request, rt: Runtime, provider: str, handle: Callable[[Callbacks, Mapping[str, str]], str | None]
) -> Response:
    """Verify the callback, `handle` it (in a worker thread: it writes), and answer in the provider's format."""
    verified = await _verified(request, rt, provider)
    if verified is None:
        return _forbidden()
    callbacks, fields = verified
    reply = await run_in_threadpool(handle, callbacks, fields)
    body, media_type = callbacks.reply(reply)
    return Response(body, media_type=media_type)
