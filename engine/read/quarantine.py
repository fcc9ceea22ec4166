"""The quarantine, read: what staff see at GET /api/quarantine and what /metrics counts."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, func, select

from engine.clock import format_instant
from engine.models import Quarantined
from engine.read.queries import Page, narrow, page_by_key


def list_quarantined(
    session: Session,
    *,
    kind: str | None = None,
    step: str | None = None,
    cleared: bool = False,
    cursor: int | None = None,
    limit: int = 100,
) -> Page:
    """Newest failure first, a keyset page at a time; rows that went through since are left out unless
    `cleared`."""
    q = narrow(select(Quarantined), [(Quarantined.kind, kind), (Quarantined.step, step)])
    if not cleared:
        q = q.where(col(Quarantined.cleared_at).is_(None))
    return page_by_key(session, q, Quarantined.id, cursor=cursor, limit=limit, item=_item)


def _item(row: Quarantined) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "ref": row.ref,
        "step": row.step,
        "error": row.error,
        "reason": row.reason,
        "failures": row.failures,
        "first_at": format_instant(row.first_at),
        "last_at": format_instant(row.last_at),
        "retry_at": format_instant(row.retry_at) if row.retry_at else None,
        "cleared_at": format_instant(row.cleared_at) if row.cleared_at else None,
    }


def quarantine_counts(session: Session) -> list[tuple[str, str, int]]:
    """(kind, step, rows still held) for /metrics."""
    rows = session.exec(
        select(Quarantined.kind, Quarantined.step, func.count(col(Quarantined.id)))
        .where(col(Quarantined.cleared_at).is_(None))
        .group_by(Quarantined.kind, Quarantined.step)
    ).all()
    return [(str(kind), str(step), int(n)) for kind, step, n in rows]


def prometheus_lines(session: Session) -> list[str]:
    lines = [
        "# HELP forewarn_quarantined Rows a step could not process and set aside, by kind and step.",
        "# TYPE forewarn_quarantined gauge",
    ]
    return lines + [f'forewarn_quarantined{{kind="{k}",step="{s}"}} {n}' for k, s, n in quarantine_counts(session)]
