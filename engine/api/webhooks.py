"""POST /webhooks/{source}: 202 on accept (a repeat delivery too), 401/400/413 on bad input, never 5xx for
the sender's fault; 503 + Retry-After when the database does not answer or the broker has been away for
longer than FOREWARN_BROKER_GRACE (then nothing is stored: the sender retries)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from engine.api.problems import problem, problems, unavailable
from engine.broker_health import BrokerHealth
from engine.errors import InvalidEvent, SignatureError
from engine.inbound.feed import MAX_BODY_BYTES, WebhookRequest
from engine.inbound.group_commit import GroupCommit
from engine.inbound.webhooks import verified_events
from engine.runtime import Runtime
from engine.vocabulary import WEBHOOK_FEEDS

router = APIRouter(tags=["webhooks"])

# A body up to this size is verified and parsed on the event loop (well under a millisecond); a bigger one
# in the thread pool, so that a megabyte of JSON does not hold up every other request.
INLINE_BODY_BYTES = 64 * 1024


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
        **problems(400, 401, 404, 413, 503),
    },
)
async def webhook(source: str, request: Request) -> JSONResponse | dict[str, Any]:
    # The runtime from the app, not a dependency: a sync dependency is a thread-pool hop per request.
    rt: Runtime = request.app.state.runtime
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
        if len(body) <= INLINE_BODY_BYTES:
            events = verified_events(request.app.state.feeds, feed, delivery)
        else:
            events = await run_in_threadpool(verified_events, request.app.state.feeds, feed, delivery)
    except SignatureError as exc:
        return _error(401, str(exc))
    except InvalidEvent as exc:
        return _error(400, str(exc))
    health: BrokerHealth | None = request.app.state.broker_health
    if health is not None and health.past_grace() and not await run_in_threadpool(health.probe):
        # Stored, it would wait for a broker that has been away for a while: the sender keeps it meanwhile.
        return unavailable("the job queue (broker)")
    # Answered once the group this delivery joined has committed: a 202 means its events are stored.
    group: GroupCommit = request.app.state.group_commit
    result = await asyncio.wrap_future(group.submit(feed, events, delivery.received_at))
    return JSONResponse({"accepted": len(result.accepted), "duplicates": result.duplicates}, status_code=202)
