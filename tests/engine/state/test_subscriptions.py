"""Who follows a component is read from `customer_components`, which follows every customer upsert."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select
from support import builders
from support.outage_story import notices, run_for, status
from support.pipeline import feed

from engine.clock import SimulatedClock
from engine.models import CustomerComponent
from engine.runtime import Runtime


def followed(rt: Runtime) -> list[tuple[str, str]]:
    with Session(rt.db) as session:
        rows = session.exec(
            select(CustomerComponent).order_by(col(CustomerComponent.customer_id), col(CustomerComponent.component))
        ).all()
    return [(row.customer_id, row.component) for row in rows]


def upsert(rt: Runtime, cid: str, **fields: object) -> None:
    feed(rt, builders.customer_upserted(rt.clock.now(), cid=cid, email=f"{cid.lower()}@example.com", **fields))


def test_the_table_follows_upserts_and_ignores_older_ones(rt: Runtime, clock: SimulatedClock) -> None:
    upsert(rt, "C1", components=["checkout", "search", "checkout"])
    upsert(rt, "C2", components=["search"])
    assert followed(rt) == [("C1", "checkout"), ("C1", "search"), ("C2", "search")]

    clock.advance(timedelta(minutes=1))
    upsert(rt, "C1", components=["search", "payments"])
    assert followed(rt) == [("C1", "payments"), ("C1", "search"), ("C2", "search")]

    # An upsert that says nothing about components leaves them alone; an older one never wins.
    feed(rt, {**builders.customer_upserted(clock.now(), cid="C2"), "customer": {"id": "C2", "name": "Bo"}})
    stale = builders.customer_upserted(clock.now() - timedelta(hours=1), cid="C1", components=["checkout"])
    feed(rt, stale)
    assert followed(rt) == [("C1", "payments"), ("C1", "search"), ("C2", "search")]

    upsert(rt, "C2", components=[])
    assert followed(rt) == [("C1", "payments"), ("C1", "search")]


def test_a_customer_who_stopped_following_a_component_is_not_told(rt: Runtime, clock: SimulatedClock) -> None:
    upsert(rt, "C1", components=["checkout"], channels=["email"])
    upsert(rt, "C2", components=["checkout"], channels=["email"])
    clock.advance(timedelta(minutes=1))
    upsert(rt, "C1", components=["search"], channels=["email"])  # no longer uses checkout
    status(rt, "checkout", "major_outage")
    run_for(rt, clock, timedelta(minutes=15))
    assert notices(rt) == [("C2", "initial", "sent")]
    status(rt, "search", "major_outage", incident="INC-8")
    run_for(rt, clock, timedelta(minutes=15))
    assert notices(rt) == [("C2", "initial", "sent"), ("C1", "initial", "sent")]


def test_a_name_that_only_looks_like_the_component_does_not_count(rt: Runtime, clock: SimulatedClock) -> None:
    upsert(rt, "C1", components=["checkout-eu"], channels=["email"])
    upsert(rt, "C2", components=['check"out'], channels=["email"])
    upsert(rt, "C3", components=["Checkout"], channels=["email"])
    status(rt, "checkout", "major_outage")
    run_for(rt, clock, timedelta(minutes=15))
    assert notices(rt) == []
