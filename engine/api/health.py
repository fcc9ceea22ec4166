"""GET /healthz (database and broker answer) and GET /metrics (Prometheus text)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text
from sqlmodel import Session, col, func, select

from engine.api.deps import RuntimeDep
from engine.models import InboundEvent, Notice, Situation

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(request: Request, rt: RuntimeDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        with Session(rt.db) as session:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    ping = getattr(request.app.state, "broker_ping", None)
    try:
        if ping is not None:
            ping()
        checks["broker"] = "ok" if ping is not None else "in-process"
    except Exception as exc:
        checks["broker"] = f"error: {type(exc).__name__}"
    healthy = all(v in ("ok", "in-process") for v in checks.values())
    return JSONResponse({"status": "ok" if healthy else "unhealthy", **checks}, status_code=200 if healthy else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(rt: RuntimeDep) -> str:
    lines: list[str] = []
    with Session(rt.db) as session:
        notice_rows = session.exec(
            select(Notice.channel, Notice.status, func.count(col(Notice.id))).group_by(Notice.channel, Notice.status)
        ).all()
        situation_rows = session.exec(
            select(Situation.kind, Situation.status, func.count(col(Situation.id))).group_by(
                Situation.kind, Situation.status
            )
        ).all()
        event_rows = session.exec(
            select(InboundEvent.source, func.count(col(InboundEvent.id))).group_by(InboundEvent.source)
        ).all()
        unhandled = session.exec(
            select(func.count(col(InboundEvent.id))).where(col(InboundEvent.handled_at).is_(None))
        ).one()
    lines += ["# HELP forewarn_notices Notices by channel and status.", "# TYPE forewarn_notices gauge"]
    lines += [f'forewarn_notices{{channel="{c}",status="{s}"}} {n}' for c, s, n in notice_rows]
    lines += ["# HELP forewarn_situations Situations by kind and status.", "# TYPE forewarn_situations gauge"]
    lines += [f'forewarn_situations{{kind="{k}",status="{s}"}} {n}' for k, s, n in situation_rows]
    lines += [
        "# HELP forewarn_events_total Inbound events stored, by source.",
        "# TYPE forewarn_events_total counter",
    ]
    lines += [f'forewarn_events_total{{source="{s}"}} {n}' for s, n in event_rows]
    lines += [
        "# HELP forewarn_events_unhandled Stored events not yet applied.",
        "# TYPE forewarn_events_unhandled gauge",
        f"forewarn_events_unhandled {unhandled}",
    ]
    return "\n".join(lines) + "\n"
