"""Accept canonical events: store each once, audit it, and queue the job that applies it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from engine import audit
from engine.events.schema import CanonicalEvent
from engine.inbound import repository
from engine.runtime import enqueue_after_commit

APPLY_ACTOR = "events.apply"


@dataclass
class StoreResult:
    accepted: list[int] = field(default_factory=list)  # new inbound event ids
    duplicates: int = 0


def store_events(
    session: Session,
    *,
    source: str,
    events: list[CanonicalEvent],
    received_at: datetime,
    queue: bool = True,
    relay_after: timedelta = timedelta(minutes=2),
) -> StoreResult:
    result = StoreResult()
    for event in events:
        payload = event.model_dump(mode="json", exclude_none=True)
        new_id = repository.insert_if_new(
            session,
            {
                "source": source,
                "external_id": event.id,
                "type": event.type,
                "occurred_at": event.occurred_at,
                "received_at": received_at,
                "next_attempt_at": received_at + relay_after,
                "attempts": 0,
                "payload": payload,
                "customer_id": event.customer_id,
                "order_id": event.order_id,
            },
        )
        if new_id is None:
            result.duplicates += 1
            continue
        result.accepted.append(new_id)
        audit.append(
            session,
            at=received_at,
            actor=f"webhook:{source}",
            action="event.accepted",
            subject=f"event:{new_id}",
            details={"source": source, "external_id": event.id, "type": event.type},
        )
        if queue:
            enqueue_after_commit(session, APPLY_ACTOR, new_id)
    return result
