"""Outages through the real pipeline: told only after the debounce, one thread per incident, resolved once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select
from support import builders
from support.outage_story import status
from support.pipeline import drain, feed

from engine.clock import SimulatedClock
from engine.detection.outages.announcement import scan_outages
from engine.models import AuditEntry, Incident, Notice
from engine.runtime import Runtime
from engine.scheduler import tick
from engine.vocabulary import NoticeStatus


def customers(rt: Runtime, *specs: tuple[str, list[str]], **fields: Any) -> None:
    feed(
        rt,
        *(
            builders.customer_upserted(
                rt.clock.now(), cid=cid, email=f"{cid.lower()}@example.com", components=components, **fields
            )
            for cid, components in specs
        ),
    )


def run_for(rt: Runtime, clock: SimulatedClock, duration: timedelta, step: timedelta = timedelta(minutes=1)) -> None:
    """Let simulated time pass with the scheduler's scan running every `step`."""
    end = clock.now() + duration
    while clock.now() < end:
        clock.advance(step)
        scan_outages(rt)
        drain(rt)


def notices(rt: Runtime) -> list[tuple[str, str, str, str]]:
    with Session(rt.db) as session:
        rows = session.exec(select(Notice).order_by(col(Notice.id))).all()
    return [(n.customer_id, n.situation, n.stage, n.channel) for n in rows]


def test_a_long_outage_tells_subscribers_after_the_debounce_and_resolves(rt: Runtime, clock: SimulatedClock) -> None:
    customers(rt, ("C1", ["checkout"]), ("C2", ["search"]), ("C3", ["search", "checkout"]), channels=["email"])
    status(rt, "checkout", "major_outage")
    run_for(rt, clock, timedelta(minutes=9))
    assert notices(rt) == []  # still inside the debounce
    run_for(rt, clock, timedelta(minutes=1))
    told = [("C1", "service.disruption", "initial", "email"), ("C3", "service.disruption", "initial", "email")]
    assert notices(rt) == told
    run_for(rt, clock, timedelta(minutes=20))
    status(rt, "checkout", "operational")
    run_for(rt, clock, timedelta(hours=1))
    assert notices(rt) == [
        *told,
        ("C1", "service.disruption", "resolved", "email"),
        ("C3", "service.disruption", "resolved", "email"),
    ]
    with Session(rt.db) as session:
        sent = session.exec(select(Notice).where(Notice.status == NoticeStatus.SENT)).all()
        announced = session.exec(select(AuditEntry).where(AuditEntry.action == "incident.announced")).all()
    assert len(sent) == 4
    assert {n.incident_id for n in sent} == {"INC-7"}
    assert [a.details["recipients"] for a in announced] == [2]


def test_a_blip_inside_the_debounce_sends_nothing(rt: Runtime, clock: SimulatedClock) -> None:
    customers(rt, ("C1", ["checkout"]), channels=["email"])
    status(rt, "checkout", "partial_outage")
    run_for(rt, clock, timedelta(minutes=5))
    status(rt, "checkout", "operational")
    run_for(rt, clock, timedelta(hours=1))
    assert notices(rt) == []


def test_maintenance_is_not_an_outage(rt: Runtime, clock: SimulatedClock) -> None:
    customers(rt, ("C1", ["checkout"]), channels=["email"])
    status(rt, "checkout", "under_maintenance")
    run_for(rt, clock, timedelta(hours=2), step=timedelta(minutes=5))
    status(rt, "checkout", "operational")
    run_for(rt, clock, timedelta(minutes=30))
    assert notices(rt) == []


def test_two_components_of_one_incident_make_one_thread(rt: Runtime, clock: SimulatedClock) -> None:
    customers(rt, ("C1", ["checkout", "search"]), channels=["email"])
    status(rt, "checkout", "major_outage")
    status(rt, "search", "major_outage")
    run_for(rt, clock, timedelta(minutes=30))
    assert notices(rt) == [("C1", "service.disruption", "initial", "email")]
    status(rt, "checkout", "operational")  # search is still down: not over yet
    run_for(rt, clock, timedelta(minutes=15))
    assert len(notices(rt)) == 1
    status(rt, "search", "operational")
    assert notices(rt) == [
        ("C1", "service.disruption", "initial", "email"),
        ("C1", "service.disruption", "resolved", "email"),
    ]


def test_each_worse_severity_is_one_update_and_repeats_are_none(rt: Runtime, clock: SimulatedClock) -> None:
    customers(rt, ("C1", ["checkout"]), channels=["email"])
    status(rt, "checkout", "degraded_performance", message="We are investigating.")
    run_for(rt, clock, timedelta(minutes=15))
    status(rt, "checkout", "partial_outage", message="We are investigating.")  # worse: told at once
    run_for(rt, clock, timedelta(hours=2), step=timedelta(minutes=15))
    status(rt, "checkout", "major_outage", message="We are investigating.")
    for _ in range(4):  # the same news again and again, also after two more hours
        run_for(rt, clock, timedelta(hours=1), step=timedelta(minutes=15))
        status(rt, "checkout", "major_outage", message="We are investigating.")
    status(rt, "checkout", "operational", message="Fixed.")
    stages = [stage for _, _, stage, _ in notices(rt)]
    assert stages == ["initial", "update", "update", "resolved"]


def test_a_feed_without_incident_ids_gets_one_thread_per_spell(rt: Runtime, clock: SimulatedClock) -> None:
    customers(rt, ("C1", ["checkout"]), channels=["email"])
    for _ in range(2):
        status(rt, "checkout", "major_outage", incident=None)
        run_for(rt, clock, timedelta(minutes=20))
        status(rt, "checkout", "partial_outage", incident=None)
        run_for(rt, clock, timedelta(minutes=20))
        status(rt, "checkout", "operational", incident=None)
        run_for(rt, clock, timedelta(hours=1), step=timedelta(minutes=15))
    with Session(rt.db) as session:
        rows = session.exec(select(Notice).order_by(col(Notice.id))).all()
    assert [n.stage for n in rows] == ["initial", "resolved", "initial", "resolved"]
    assert rows[0].thread_key == rows[1].thread_key != rows[2].thread_key == rows[3].thread_key
    assert rows[0].incident_id and rows[0].incident_id.startswith("checkout@")


def test_a_night_time_text_is_dropped_when_the_outage_ends_before_morning(rt: Runtime, clock: SimulatedClock) -> None:
    # 18:00 UTC is 03:00 in Tokyo: a text would wait for 08:00 local.
    customers(rt, ("C1", ["checkout"]), channels=["sms"], timezone="Asia/Tokyo")
    status(rt, "checkout", "major_outage")
    run_for(rt, clock, timedelta(minutes=30))
    with Session(rt.db) as session:
        (pending,) = session.exec(select(Notice)).all()
    assert (pending.stage, pending.channel, pending.status, pending.deferred) == ("initial", "sms", "pending", True)
    status(rt, "checkout", "operational")
    run_for(rt, clock, timedelta(hours=12), step=timedelta(minutes=30))
    with Session(rt.db) as session:
        rows = session.exec(select(Notice)).all()
    assert [(n.stage, n.status) for n in rows] == [("initial", NoticeStatus.DROPPED)]


def test_news_replaces_a_text_still_waiting_for_morning(rt: Runtime, clock: SimulatedClock) -> None:
    customers(rt, ("C1", ["checkout"]), channels=["email", "sms"], timezone="Asia/Tokyo")
    status(rt, "checkout", "degraded_performance", message="We are investigating.")
    run_for(rt, clock, timedelta(hours=2, minutes=15), step=timedelta(minutes=15))
    status(rt, "checkout", "major_outage", message="A database node failed.")
    with Session(rt.db) as session:
        rows = session.exec(select(Notice).order_by(col(Notice.id))).all()
    assert [(n.stage, n.channel, n.status) for n in rows] == [
        ("initial", "email", NoticeStatus.SENT),
        ("initial", "sms", NoticeStatus.DROPPED),  # one text in the morning, not two
        ("update", "email", NoticeStatus.SENT),
        ("update", "sms", NoticeStatus.PENDING),
    ]


def test_a_component_moved_to_another_incident_closes_the_first(rt: Runtime, clock: SimulatedClock) -> None:
    customers(rt, ("C1", ["checkout"]), channels=["email"])
    status(rt, "checkout", "major_outage", incident="INC-1")
    run_for(rt, clock, timedelta(minutes=15))
    status(rt, "checkout", "major_outage", incident="INC-2")
    run_for(rt, clock, timedelta(minutes=15))
    status(rt, "checkout", "operational", incident="INC-2")
    with Session(rt.db) as session:
        rows = session.exec(select(Notice).order_by(col(Notice.id))).all()
    assert [(n.stage, n.incident_id) for n in rows] == [
        ("initial", "INC-1"),
        ("resolved", "INC-1"),
        ("initial", "INC-2"),
        ("resolved", "INC-2"),
    ]


def test_a_note_that_only_restates_the_status_is_not_news(rt: Runtime, clock: SimulatedClock) -> None:
    """Statuspage's default words carry nothing new: no update for them, and they are not quoted; a note
    that says what is going on is both."""
    customers(rt, ("C1", ["order-tracking"]), channels=["email"])
    status(rt, "order-tracking", "major_outage", message="We are currently investigating this issue.")
    run_for(rt, clock, timedelta(minutes=15))
    run_for(rt, clock, timedelta(hours=2), step=timedelta(minutes=15))
    status(
        rt, "order-tracking", "major_outage", message="The issue has been identified and a fix is being implemented."
    )
    run_for(rt, clock, timedelta(hours=2), step=timedelta(minutes=15))
    status(rt, "order-tracking", "major_outage", message="A database node failed; we are moving to a replica.")
    status(rt, "order-tracking", "operational", message="This incident has been resolved.")
    with Session(rt.db) as session:
        sent = session.exec(select(Notice).order_by(col(Notice.id))).all()
    assert [n.stage for n in sent] == ["initial", "update", "resolved"]
    initial, update, resolved = (n.body for n in sent)
    assert "order tracking" in initial.lower() and "order-tracking" not in initial
    assert "investigating this issue" not in initial
    assert "A database node failed; we are moving to a replica." in update
    assert "What happened" not in resolved and "has been resolved" not in resolved


def test_worse_news_goes_out_at_once_and_a_new_note_waits_for_the_interval(rt: Runtime, clock: SimulatedClock) -> None:
    """Told "slow", then it goes fully down 15 minutes later: that is news the customer hears at once, not two
    hours later. A new note at the same severity soon after waits until two hours have passed since that
    update, and is then told once even if the status page falls silent."""
    customers(rt, ("C1", ["checkout"]), channels=["email"])
    status(rt, "checkout", "degraded_performance")
    run_for(rt, clock, timedelta(minutes=15))
    status(rt, "checkout", "major_outage")  # worse: told now
    drain(rt)
    assert [stage for _, _, stage, _ in notices(rt)] == ["initial", "update"]
    run_for(rt, clock, timedelta(minutes=10))
    status(rt, "checkout", "major_outage", message="A database node failed; we are moving to a replica.")
    run_for(rt, clock, timedelta(minutes=60), step=timedelta(minutes=5))
    assert [stage for _, _, stage, _ in notices(rt)] == ["initial", "update"]  # too soon after the update
    with Session(rt.db) as session:
        incident = session.get(Incident, "INC-7")
        assert incident is not None and incident.threads_due_at is not None  # the held news, scheduled
    for _ in range(12):  # the scheduler's ticks, with nothing new from the status page
        clock.advance(timedelta(minutes=5))
        tick(rt)
        drain(rt)
    assert [stage for _, _, stage, _ in notices(rt)] == ["initial", "update", "update"]
    for _ in range(10):  # and only once (within the two hours that update promised for the next word)
        clock.advance(timedelta(minutes=10))
        tick(rt)
        drain(rt)
    assert [stage for _, _, stage, _ in notices(rt)] == ["initial", "update", "update"]


def test_a_customer_who_follows_a_component_already_down_is_told_and_thanked(
    rt: Runtime, clock: SimulatedClock
) -> None:
    customers(rt, ("C1", ["checkout"]), channels=["email"])
    status(rt, "checkout", "major_outage")
    run_for(rt, clock, timedelta(minutes=15))  # announced to C1
    customers(rt, ("C2", ["search"]), ("C3", ["search"]), channels=["email"])
    customers(rt, ("C2", ["search", "checkout"]), channels=["email"])  # C2 starts following checkout
    run_for(rt, clock, timedelta(minutes=30))
    status(rt, "checkout", "operational")
    assert notices(rt) == [
        ("C1", "service.disruption", "initial", "email"),
        ("C2", "service.disruption", "initial", "email"),
        ("C1", "service.disruption", "resolved", "email"),
        ("C2", "service.disruption", "resolved", "email"),
    ]
