"""GET /healthz (database and broker answer) and GET /metrics (Prometheus text)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from engine.api.deps import RuntimeDep, SessionDep
from engine.read.metrics import database_status, prometheus_text

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    responses={
        200: {"description": "the database and the broker answer"},
        503: {"description": "the database or the broker does not answer"},
    },
)
def healthz(request: Request, rt: RuntimeDep) -> JSONResponse:
    checks = {"database": database_status(rt.db), "broker": _broker_status(request)}
    healthy = all(v in ("ok", "in-process") for v in checks.values())
    return JSONResponse({"status": "ok" if healthy else "unhealthy", **checks}, status_code=200 if healthy else 503)


def _broker_status(request: Request) -> str:
    ping = getattr(request.app.state, "broker_ping", None)
    if ping is None:
        return "in-process"
    try:
        ping()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(session: SessionDep) -> str:
    return prometheus_text(session)
