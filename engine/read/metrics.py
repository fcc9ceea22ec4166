"""What `/metrics` reports (Prometheus text) and whether the database answers, for `/healthz`."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from engine.models import InboundEvent, Notice, Situation
from engine.read.quarantine import prometheus_lines as quarantine_lines


def database_status(db: Engine) -> str:
    """ "ok", or the kind of error the database answered with (never its message: it may hold a password)."""
    try:
        with db.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def prometheus_text(session: Session) -> str:
    """Notices by channel and status, situations by kind and status, events by source and those waiting."""
    notices = session.exec(
        select(Notice.channel, Notice.status, func.count(col(Notice.id))).group_by(Notice.channel, Notice.status)
    ).all()
    situations = session.exec(
        select(Situation.kind, Situation.status, func.count(col(Situation.id))).group_by(
            Situation.kind, Situation.status
        )
    ).all()
    events = session.exec(
        select(InboundEvent.source, func.count(col(InboundEvent.id))).group_by(InboundEvent.source)
    ).all()
    unhandled = session.exec(
        select(func.count(col(InboundEvent.id))).where(col(InboundEvent.handled_at).is_(None))
    ).one()
    lines = ["# HELP forewarn_notices Notices by channel and status.", "# TYPE forewarn_notices gauge"]
    lines += [f'forewarn_notices{{channel="{c}",status="{s}"}} {n}' for c, s, n in notices]
    lines += ["# HELP forewarn_situations Situations by kind and status.", "# TYPE forewarn_situations gauge"]
    lines += [f'forewarn_situations{{kind="{k}",status="{s}"}} {n}' for k, s, n in situations]
    lines += ["# HELP forewarn_events_total Inbound events stored, by source.", "# TYPE forewarn_events_total counter"]
    lines += [f'forewarn_events_total{{source="{s}"}} {n}' for s, n in events]
    lines += [
        "# HELP forewarn_events_unhandled Stored events not yet applied.",
        "# TYPE forewarn_events_unhandled gauge",
        f"forewarn_events_unhandled {unhandled}",
    ]
    unconfirmed = session.exec(
        select(func.count(col(Notice.id))).where(col(Notice.status_reason).startswith("unconfirmed:"))
    ).one()
    waiting = session.exec(
        select(func.count(col(Notice.id))).where(
            Notice.status == "pending", col(Notice.status_reason).startswith("waiting:")
        )
    ).one()
    lines += [
        "# HELP forewarn_notices_unconfirmed Notices handed to a provider by a worker that stopped before it"
        " heard back (the crash window: one per worker thread). Never sent again.",
        "# TYPE forewarn_notices_unconfirmed gauge",
        f"forewarn_notices_unconfirmed {unconfirmed}",
        "# HELP forewarn_notices_waiting_for_provider Pending notices held while their provider is down.",
        "# TYPE forewarn_notices_waiting_for_provider gauge",
        f"forewarn_notices_waiting_for_provider {waiting}",
    ]
    lines += quarantine_lines(session)
    return "\n".join(lines) + "\n"
