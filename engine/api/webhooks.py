"""POST /webhooks/{source}: 202 on accept (a repeat delivery too), 401/400/413 on bad input, never 5xx."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from engine.api.deps import RuntimeDep
from engine.api.problems import problem, problems
from engine.errors import InvalidEvent, SignatureError
from engine.inbound.feed import MAX_BODY_BYTES, WebhookRequest
from engine.inbound.webhooks import receive
from engine.vocabulary import WEBHOOK_FEEDS

router = APIRouter(tags=["webhooks"])


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _error(code: int, message: str) -> JSONResponse:
    return problem(code, message)


class Accepted(BaseModel):
    accepted: int
    duplicates: int


@router.post(
    "/webhooks/{source}",
    status_code=202,
    response_model=None,
    responses={
        202: {"model": Accepted, "description": "stored (a repeat: stored once)"},
        **problems(400, 401, 404, 413),
    },
)
async def webhook(source: str, request: Request, rt: RuntimeDep) -> JSONResponse | dict[str, Any]:
    feed = next((known for known in WEBHOOK_FEEDS if known == source), None)
    if feed is None:
        return _error(404, f"unknown source {source!r}; expected one of {', '.join(WEBHOOK_FEEDS)}")
    try:
        body = await read_body(request)
    except BodyTooLarge:
        return _error(413, f"body is over {MAX_BODY_BYTES} bytes")
    delivery = WebhookRequest(
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query_params),
        body=body,
        received_at=rt.clock.now(),
    )
    try:
        result = await run_in_threadpool(receive, rt, request.app.state.feeds, feed, delivery)
    except SignatureError as exc:
        return _error(401, str(exc))
    except InvalidEvent as exc:
        return _error(400, str(exc))
    return JSONResponse({"accepted": len(result.accepted), "duplicates": result.duplicates}, status_code=202)
