"""Accept canonical events: store each once, audit it, and queue the job that applies it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlmodel import Session

from engine import audit
from engine.events.schema import CanonicalEvent
from engine.inbound import repository
from engine.models import InboundEvent
from engine.runtime import enqueue_after_commit
from engine.vocabulary import FeedSource, Job


@dataclass
class StoreResult:
    accepted: list[int] = field(default_factory=list)  # new inbound event ids
    duplicates: int = 0


class Arrival(NamedTuple):
    """One delivery's events, as a feed sent them."""

    source: FeedSource
    events: list[CanonicalEvent]
    received_at: datetime


def store_events(
    session: Session,
    *,
    source: FeedSource,
    events: list[CanonicalEvent],
    received_at: datetime,
    queue: bool = True,
    relay_after: timedelta = timedelta(minutes=2),
) -> StoreResult:
    (result,) = store_arrivals(session, [Arrival(source, events, received_at)], queue=queue, relay_after=relay_after)
    return result


def store_arrivals(
    session: Session,
    arrivals: Sequence[Arrival],
    *,
    queue: bool = True,
    relay_after: timedelta = timedelta(minutes=2),
) -> list[StoreResult]:
    """Store every arrival's events once each, in order, in the session's transaction: one INSERT for all
    of them and one for their audit entries. An event already stored, or stored earlier in `arrivals`,
    counts as a duplicate of the arrival that repeats it."""
    rows = [_row_values(a.source, event, a.received_at, relay_after) for a in arrivals for event in a.events]
    # INSERT … ON CONFLICT DO NOTHING: two workers receiving the same redelivery store it once.
    new_ids = repository.insert_if_new(session, rows)
    results: list[StoreResult] = []
    entries: list[audit.Entry] = []
    keys = iter(rows)
    for arrival in arrivals:
        result = StoreResult()
        for event in arrival.events:
            row = next(keys)
            new_id = new_ids.pop((str(row["source"]), row["external_id"]), None)
            if new_id is None:
                result.duplicates += 1
                continue
            result.accepted.append(new_id)
            entries.append(_accepted_entry(arrival.source, event, new_id, arrival.received_at))
            if queue:
                enqueue_after_commit(session, Job.APPLY_EVENT, new_id)
        results.append(result)
    audit.append_many(session, entries)
    return results


def record_event(
    session: Session,
    *,
    event_id: int,
    source: FeedSource,
    event: CanonicalEvent,
    received_at: datetime,
    relay_after: timedelta = timedelta(minutes=2),
) -> InboundEvent:
    """Accept one event the caller already knows is new, under an id it allocated (replay's private
    database has one writer). The caller adds the row to the session once it has applied it, so the
    row is written once, at commit, with its outcome (an earlier add would be flushed by the first
    query and then updated)."""
    row = InboundEvent(id=event_id, **_row_values(source, event, received_at, relay_after))
    audit.append_many(session, [_accepted_entry(source, event, event_id, received_at)])
    return row


def delivery_key(event: CanonicalEvent) -> str:
    """The key an event is stored once under: the feed's id *and* a digest of what it says.

    A repeat is a repeat only when the content matches too: EasyPost sends one tracker's `in_transit` and
    later its `delivered` under the same event id, and dropping the second would leave the order looking
    undelivered forever. When (not whether) it reached us is left out, so a redelivery is still one event.
    """
    return _key_of(event.id, event.model_dump(mode="json", exclude_none=True))


def _key_of(event_id: str, payload: dict[str, Any]) -> str:
    """`delivery_key` from the event's dumped payload (so that storing it dumps the event once)."""
    content = {name: value for name, value in payload.items() if name != "received_at"}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f"{event_id}#{digest[:16]}"


def feed_id(external_id: str) -> str:
    """The feed's own id of a stored event (its key without the content digest)."""
    return external_id.rpartition("#")[0] or external_id


def _row_values(
    source: FeedSource, event: CanonicalEvent, received_at: datetime, relay_after: timedelta
) -> dict[str, Any]:
    payload = event.model_dump(mode="json", exclude_none=True)
    return {
        "source": source,
        "external_id": _key_of(event.id, payload),
        "type": event.type,
        "occurred_at": event.occurred_at,
        "received_at": received_at,
        "next_attempt_at": received_at + relay_after,
        "attempts": 0,
        "payload": payload,
        "customer_id": event.customer_id,
        "order_id": event.order_id,
    }


def _accepted_entry(source: FeedSource, event: CanonicalEvent, event_id: int, at: datetime) -> audit.Entry:
    return audit.Entry(
        at=at,
        actor=f"webhook:{source}",
        action="event.accepted",
        subject=f"event:{event_id}",
        details={"source": source, "external_id": event.id, "type": event.type},
    )
