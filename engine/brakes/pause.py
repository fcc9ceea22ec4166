"""The global pause: staff stop every send at once; decisions are still recorded and go out on resume.

While paused, the scheduler's relay queues no notices, `scan_outages` announces nothing (due outages
stay due), and delivery leaves a claimed-for notice `pending`. Nothing is lost: every decision is still
written as a pending notice, and after resuming the relay sends whatever is due by then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select, update

from engine import audit
from engine.db import row_locks
from engine.models import AuditEntry, EngineFlag, Notice
from engine.vocabulary import NoticeStatus

SENDING_PAUSED = "sending_paused"
PAUSED, RESUMED = "sending.paused", "sending.resumed"


@dataclass(frozen=True)
class PauseState:
    paused: bool
    updated_at: datetime | None = None
    updated_by: str | None = None
    reason: str | None = None


def is_paused(session: Session) -> bool:
    flag = session.get(EngineFlag, SENDING_PAUSED)
    return bool(flag is not None and flag.value)


def pause_state(session: Session) -> PauseState:
    """The flag, with the reason given when it was last flipped (kept in the audit log)."""
    flag = session.get(EngineFlag, SENDING_PAUSED)
    if flag is None:
        return PauseState(paused=False)
    last = session.exec(
        select(AuditEntry)
        .where(col(AuditEntry.action).in_((PAUSED, RESUMED)))
        .order_by(col(AuditEntry.seq).desc())
        .limit(1)
    ).first()
    reason = last.details.get("reason") if last is not None else None
    return PauseState(flag.value, flag.updated_at, flag.updated_by, reason if isinstance(reason, str) else None)


def set_paused(
    session: Session, paused: bool, actor: str, *, at: datetime, reason: str | None = None, address: str | None = None
) -> PauseState:
    """Pause or resume all sending; audited every time, also when it was already so."""
    flag = session.get(EngineFlag, SENDING_PAUSED, with_for_update=row_locks(session))
    was_paused = bool(flag is not None and flag.value)
    if flag is None:
        flag = EngineFlag(name=SENDING_PAUSED, value=paused, updated_at=at, updated_by=actor)
        session.add(flag)
    else:
        flag.value, flag.updated_at, flag.updated_by = paused, at, actor
    if was_paused and not paused:
        # Notices queued during the pause bounced off it: let the next relay tick queue them at once
        # rather than after FOREWARN_RELAY_AFTER. A second queued job is harmless (claims are idempotent).
        session.exec(
            update(Notice)
            .where(col(Notice.status) == NoticeStatus.PENDING, col(Notice.enqueued_at).is_not(None))
            .values(enqueued_at=None)
        )
    audit.append(
        session,
        at=at,
        actor=actor,
        action=PAUSED if paused else RESUMED,
        subject="engine:sending",
        details={"reason": reason, "was_paused": was_paused, **({"address": address} if address else {})},
    )
    return PauseState(paused, at, actor, reason)
