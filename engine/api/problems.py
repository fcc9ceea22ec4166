"""One error body everywhere: RFC 9457 problem details (`application/problem+json`).

Every route's errors come through here — an `HTTPException` a route raises, a request that fails
validation (400, not FastAPI's 422: the contract says 400 for a bad request), a database that does not
answer (503 with `Retry-After`: our fault, try again shortly), and anything unexpected (500, logged
without its message: it may quote personal data). Routers added later inherit all of it.

    {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": "since: must be …"}

`install(app)` also rewrites the OpenAPI document so that it declares what the API really answers:
400 instead of 422, and a problem body for every error status.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from engine.quarantine import OUTAGES, describe, is_outage

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
RETRY_AFTER_SECONDS = 5  # a database that went away usually answers again within seconds (a failover)


class Problem(JSONResponse):
    media_type = MEDIA_TYPE


def problem(status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> Problem:
    """An RFC 9457 body: `type` is about:blank, so `title` is the status's own phrase."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail, **extra}
    return Problem(body, status_code=status, headers=headers)


def unavailable(what: str = "the database") -> Problem:
    return problem(
        503,
        f"{what} is not answering; nothing was changed. Try again shortly.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _http_error(request: Request, exc: Exception) -> Problem:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        # Starlette names only the first route that matched the path; a path may have one route per method.
        headers["Allow"] = ", ".join(_allowed(request))
    return problem(exc.status_code, detail, headers=headers or None)


def _allowed(request: Request) -> list[str]:
    """The methods some route takes at this path (asked of the router itself, so included routers count)."""
    routes = request.app.router.routes
    return [
        method
        for method in ("DELETE", "GET", "PATCH", "POST", "PUT")
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]


async def _invalid(_: Request, exc: Exception) -> Problem:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"location": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg", ""))}
        for e in exc.errors()[:5]
    ]
    detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors) or "the request is not valid"
    return problem(400, detail, errors=errors)


async def unexpected(request: Request, exc: Exception) -> Problem:
    if is_outage(exc):
        log.warning("%s %s: the database did not answer (%s)", request.method, request.url.path, describe(exc)[0])
        return unavailable()
    # The kind of error only: its message may quote what the request or the row held.
    log.error("%s %s failed: %s", request.method, request.url.path, type(exc).__name__)
    return problem(500, "something went wrong on our side; it has been logged")


def install(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    for outage in OUTAGES:  # answered where they are raised, like any HTTP error
        app.add_exception_handler(outage, unexpected)
    app.add_exception_handler(Exception, unexpected)  # a bug: 500 (Starlette then re-raises it to the server)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    """An OpenAPI response entry with a problem body (for a router's or a route's `responses=`)."""
    entry: dict[str, Any] = {
        "description": description or HTTPStatus(status).phrase,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status in (503, 429):
        entry["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
    return entry


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: problem_response(status) for status in statuses}


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for schemas in (schema["components"]["schemas"],):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            if responses.pop("422", None) is not None:
                responses.setdefault("400", problem_response(400))
            responses.setdefault("503", problem_response(503, "the database is not answering"))
            responses.setdefault("500", problem_response(500))
    app.openapi_schema = schema
    return schema
