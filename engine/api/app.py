"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI

from engine.api import (
    callbacks,
    console,
    health,
    ops,
    problems,
    quarantine,
    read,
    staff,
    status_page,
    tasks,
    templates,
    unsubscribe,
    webhooks,
)
from engine.api.review import ROUTERS as REVIEW_ROUTERS
from engine.api.security import SecurityHeaders
from engine.api.webhook_fast_path import WebhookFastPath
from engine.broker_health import BrokerHealth
from engine.inbound.feed import Feed
from engine.inbound.group_commit import GroupCommit
from engine.runtime import Runtime


def create_app(
    rt: Runtime,
    *,
    feeds: Mapping[str, Feed] | None = None,
    broker_ping: Callable[[], None] | None = None,
    broker_health: BrokerHealth | None = None,
) -> FastAPI:
    """`broker_ping` answers /healthz; `broker_health` (an external broker's) turns webhooks away with
    a 503 once the broker has been unreachable past its grace."""
    from integrations.feeds import build_feeds

    group_commit = GroupCommit(rt)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        group_commit.close()  # what is waiting is stored before the process goes

    app = FastAPI(
        lifespan=lifespan,
        title="Forewarn",
        summary="Tell customers about delays and outages before they have to ask.",
        version="0.1.0",
    )
    app.state.runtime = rt
    app.state.feeds = dict(feeds) if feeds is not None else build_feeds(rt.settings)
    app.state.broker_ping = broker_ping
    app.state.group_commit = group_commit
    app.state.broker_health = broker_health
    # Declared for /openapi.json; WebhookFastPath (below) answers nearly every webhook before routing.
    app.include_router(webhooks.router)
    app.include_router(callbacks.router)
    app.include_router(ops.router)
    app.include_router(read.router)
    app.include_router(health.router)
    app.include_router(unsubscribe.router)
    app.include_router(quarantine.router)
    app.include_router(staff.router)
    app.include_router(templates.router)
    app.include_router(tasks.router)
    app.include_router(status_page.router)
    console.install(app)
    app.add_middleware(SecurityHeaders)
    # Added last, so outermost: a webhook is answered before routing and the console's middleware.
    app.add_middleware(WebhookFastPath, state=app.state)
    for router in REVIEW_ROUTERS:
        app.include_router(router)

    problems.install(app)  # one error shape (RFC 9457) for every router, this one's and any added later
    return app
