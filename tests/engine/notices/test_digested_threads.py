"""A warning that reached the customer inside a digest counts as told, for one customer as for a fan-out.

The daily limit merges warnings due at once into one message; the originals are `merged`. What the
customer knows follows the digest: the thread's next warning is an `update`, its thank-you goes out, and
neither answers (In-Reply-To) a merged email that was never sent under its own Message-ID.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select
from support import builders

from engine.clock import SimulatedClock, format_instant
from engine.config import Settings
from engine.delivery.service import deliver_due
from engine.detection.outages.announcement import scan_outages
from engine.events import parse_events
from engine.inbound.service import store_events
from engine.models import Notice
from engine.processing import apply_event
from engine.runtime import Runtime


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_notices_per_day": 1})  # two warnings due at once: one digest


def apply(rt: Runtime, *events: dict[str, Any]) -> None:
    """Store and apply events as a worker would, delivering nothing."""
    with rt.unit_of_work() as session:
        stored = store_events(
            session, source="events", events=parse_events(list(events)), received_at=rt.clock.now(), queue=False
        )
    for event_id in stored.accepted:
        apply_event(rt, event_id)


def checkout(rt: Runtime, status: str) -> dict[str, Any]:
    return {
        "id": builders.next_id(),
        "type": "service.status",
        "occurred_at": format_instant(rt.clock.now()),
        "service": {"component": "checkout", "status": status, "incident_id": "INC-7", "title": "Checkout"},
    }


def incident_thread(rt: Runtime) -> list[Notice]:
    with Session(rt.db) as session:
        rows = session.exec(select(Notice).where(Notice.thread_key == "incident:INC-7").order_by(col(Notice.id)))
        return list(rows.all())


def told_in_a_digest(rt: Runtime, clock: SimulatedClock) -> None:
    """Ana's parcel hits bad weather and checkout goes down at once: both warnings leave as one digest."""
    t = clock.now()
    apply(
        rt,
        builders.customer_upserted(t - timedelta(days=3), channels=["email"], components=["checkout"]),
        builders.order_created(t - timedelta(days=2)),
        builders.shipment(t - timedelta(days=1), "in_transit"),
        builders.shipment(t, "exception", exception="weather"),
        checkout(rt, "partial_outage"),
    )
    clock.advance(timedelta(minutes=11))  # past the outage debounce
    scan_outages(rt)
    deliver_due(rt, jitter=False)
    [outage_warning] = incident_thread(rt)
    assert (outage_warning.stage, outage_warning.status) == ("initial", "merged")
    with Session(rt.db) as session:
        digest = session.get(Notice, outage_warning.merged_into)
        assert digest is not None and (digest.situation, digest.status) == ("digest", "sent")


def test_news_after_a_digest_is_an_update_that_answers_no_unsent_email(rt: Runtime, clock: SimulatedClock) -> None:
    told_in_a_digest(rt, clock)
    clock.advance(timedelta(hours=2, minutes=5))
    apply(rt, checkout(rt, "major_outage"))  # worse: worth an update

    _digested, news = incident_thread(rt)
    assert news.stage == "update"  # not a second first warning
    assert news.in_reply_to is None  # the merged email never went out under its own Message-ID
    assert news.subject is not None and not news.subject.startswith("Re:")


def test_the_thank_you_follows_a_warning_told_in_a_digest(rt: Runtime, clock: SimulatedClock) -> None:
    told_in_a_digest(rt, clock)
    clock.advance(timedelta(minutes=40))
    apply(rt, checkout(rt, "operational"))

    _digested, thanks = incident_thread(rt)
    assert (thanks.stage, thanks.channel, thanks.status) == ("resolved", "email", "pending")
    assert thanks.in_reply_to is None
    deliver_due(rt, jitter=False)
    [sent] = [n for n in incident_thread(rt) if n.stage == "resolved"]
    assert sent.status == "sent"  # a thank-you is never held by the daily limit
