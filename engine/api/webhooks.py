"""POST /webhooks/{source}: 202 on accept (a repeat delivery too), 401/400/413 on bad input, never 5xx for
the sender's fault; 503 + Retry-After when the database does not answer or the broker has been away for
longer than FOREWARN_BROKER_GRACE (then nothing is stored: the sender retries).

`accept` is the whole of it. `engine.api.webhook_fast_path` calls it straight from ASGI for nearly every
delivery (no routing, console middleware or dependency injection); the route here declares the endpoint
in /openapi.json and answers whatever the fast path leaves to it (an app mounted under a root path)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from engine.api.problems import Problem, problem, problems, unavailable
from engine.broker_health import BrokerHealth
from engine.errors import InvalidEvent, SignatureError
from engine.inbound.feed import MAX_BODY_BYTES, WebhookRequest
from engine.inbound.group_commit import GroupCommit
from engine.inbound.service import StoreResult
from engine.inbound.webhooks import verified_events
from engine.runtime import Runtime
from engine.vocabulary import WEBHOOK_FEEDS, FeedSource

router = APIRouter(tags=["webhooks"])

# A body up to this size is verified and parsed on the event loop (well under a millisecond); a bigger one
# in the thread pool, so that a megabyte of JSON does not hold up every other request.
INLINE_BODY_BYTES = 64 * 1024

_FEEDS: dict[str, FeedSource] = {str(feed): feed for feed in WEBHOOK_FEEDS}


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    return await read_chunks(request.stream(), request.headers.get("content-length"), limit)


async def read_chunks(chunks: AsyncIterator[bytes], declared: str | None, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, refused (BodyTooLarge) as soon as its declared length or what has arrived is over `limit`."""
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        parts.append(chunk)
    return b"".join(parts)


class Accepted(BaseModel):
    accepted: int
    duplicates: int


async def accept(
    state: State, source: str, chunks: AsyncIterator[bytes], headers: Mapping[str, str], query: Mapping[str, str]
) -> StoreResult | Problem:
    """One delivery to `source`: its StoreResult once its events are committed, or the problem to answer.
    `headers` have lower-cased names; the body is read from `chunks` only once the source is known."""
    feed = _FEEDS.get(source)
    if feed is None:
        return problem(404, f"unknown source {source!r}; expected one of {', '.join(WEBHOOK_FEEDS)}")
    try:
        body = await read_chunks(chunks, headers.get("content-length"))
    except BodyTooLarge:
        return problem(413, f"body is over {MAX_BODY_BYTES} bytes")
    rt: Runtime = state.runtime
    delivery = WebhookRequest(headers=headers, query=query, body=body, received_at=rt.clock.now())
    try:
        if len(body) <= INLINE_BODY_BYTES:
            events = verified_events(state.feeds, feed, delivery)
        else:
            events = await run_in_threadpool(verified_events, state.feeds, feed, delivery)
    except SignatureError as exc:
        return problem(401, str(exc))
    except InvalidEvent as exc:
        return problem(400, str(exc))
    health: BrokerHealth | None = state.broker_health
    if health is not None and health.past_grace() and not await run_in_threadpool(health.probe):
        # Stored, it would wait for a broker that has been away for a while: the sender keeps it meanwhile.
        return unavailable("the job queue (broker)")
    # Answered once the group this delivery joined has committed: a 202 means its events are stored.
    group: GroupCommit = state.group_commit
    return await asyncio.wrap_future(group.submit(feed, events, delivery.received_at))


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
    # The app's state, not a dependency: a sync dependency is a thread-pool hop per request.
    headers = {k.lower(): v for k, v in request.headers.items()}
    result = await accept(request.app.state, source, request.stream(), headers, dict(request.query_params))
    if isinstance(result, Problem):
        return result
    return JSONResponse({"accepted": len(result.accepted), "duplicates": result.duplicates}, status_code=202)
