"""The FastAPI application."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from engine.api import callbacks, health, ops, read, unsubscribe, webhooks
from engine.api.review import ROUTERS as REVIEW_ROUTERS
from engine.inbound.feed import Feed
from engine.runtime import Runtime


def create_app(
    rt: Runtime, *, feeds: Mapping[str, Feed] | None = None, broker_ping: Callable[[], None] | None = None
) -> FastAPI:
    from integrations.feeds import build_feeds

    app = FastAPI(
        title="Forewarn",
        summary="Tell customers about delays and outages before they have to ask.",
        version="0.1.0",
    )
    app.state.runtime = rt
    app.state.feeds = dict(feeds) if feeds is not None else build_feeds(rt.settings)
    app.state.broker_ping = broker_ping
    app.include_router(callbacks.router)
    app.include_router(ops.router)
    app.include_router(webhooks.router)
    app.include_router(read.router)
    app.include_router(health.router)
    app.include_router(unsubscribe.router)
    for router in REVIEW_ROUTERS:
        app.include_router(router)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        return JSONResponse({"error": problems}, status_code=400)

    return app
