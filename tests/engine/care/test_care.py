"""Remember the customer: repeat problems are acknowledged, a remedy from the pool is offered once, a third
problem and a lost or stalled parcel open a care task that closes when the matter resolves."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from support import builders
from support.pipeline import drain, notices, post

from engine.care import remedies
from engine.clock import SimulatedClock
from engine.models import AuditEntry, CareTask, RemedyCode
from engine.runtime import Runtime

AUTH = {"Authorization": "Bearer test-token"}


def problem(
    client: TestClient, rt: Runtime, clock: SimulatedClock, order_id: str, *, exception: str = "weather"
) -> None:
    """A new order whose parcel hits an exception, then (a day later) is delivered."""
    t = clock.now()
    post(
        client,
        clock,
        builders.order_created(t - timedelta(days=2), order_id=order_id),
        builders.shipment(t - timedelta(days=1), "in_transit", order_id=order_id),
        builders.shipment(t, "exception", order_id=order_id, exception=exception),
    )
    drain(rt)


def delivered(client: TestClient, rt: Runtime, clock: SimulatedClock, order_id: str) -> None:
    post(client, clock, builders.shipment(clock.now(), "delivered", order_id=order_id))
    drain(rt)


def emails(rt: Runtime, order_id: str) -> list[str]:
    return [n.body for n in notices(rt) if n.order_id == order_id and n.channel == "email"]


def load(rt: Runtime, *codes: str) -> None:
    with Session(rt.db) as session:
        remedies.load_codes(session, [(c, "10% off your next order") for c in codes], now=rt.clock.now())
        session.commit()


def test_second_problem_is_acknowledged_with_a_remedy_and_third_opens_a_task(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    post(client, clock, builders.customer_upserted(clock.now() - timedelta(days=5)))
    load(rt, "SORRY-1", "SORRY-2")
    problem(client, rt, clock, "A1")
    drain(rt)
    first = emails(rt, "A1")[0]
    assert "isn't the first time" not in first and "SORRY" not in first

    clock.advance(timedelta(days=2))
    delivered(client, rt, clock, "A1")
    clock.advance(timedelta(days=3))
    problem(client, rt, clock, "A2")
    drain(rt)
    second = emails(rt, "A2")[0]
    assert "isn't the first time" in second
    assert "10% off your next order" in second and "SORRY-1" in second
    assert "Our team is on it" not in second  # weather: nobody has a task for it

    clock.advance(timedelta(days=2))
    delivered(client, rt, clock, "A2")
    clock.advance(timedelta(days=3))
    problem(client, rt, clock, "A3")
    drain(rt)
    third = emails(rt, "A3")[0]
    assert "SORRY-2" in third and "SORRY-1" not in third  # a code is never given twice
    with Session(rt.db) as session:
        tasks = session.exec(select(CareTask)).all()
        claimed = session.exec(select(RemedyCode).where(col(RemedyCode.customer_id).is_not(None))).all()
    assert [(t.order_id, t.reason, t.status) for t in tasks] == [("A3", "repeat", "open")]
    assert sorted((c.code, c.customer_id) for c in claimed) == [("SORRY-1", "C1"), ("SORRY-2", "C1")]

    response = client.get("/api/tasks", headers=AUTH)
    assert response.status_code == 200
    assert [(t["order_id"], t["status"], t["reason"]) for t in response.json()["items"]] == [("A3", "open", "repeat")]

    clock.advance(timedelta(days=1))
    delivered(client, rt, clock, "A3")
    drain(rt)
    with Session(rt.db) as session:
        task = session.exec(select(CareTask)).one()
        actions = session.exec(
            select(AuditEntry.action).where(col(AuditEntry.action).like("care_task.%")).order_by(col(AuditEntry.seq))
        ).all()
    assert task.status == "closed" and task.closed_at == clock.now()
    assert list(actions) == ["care_task.opened", "care_task.closed"]


def test_an_empty_pool_offers_nothing_but_still_remembers(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    post(client, clock, builders.customer_upserted(clock.now() - timedelta(days=5)))
    problem(client, rt, clock, "B1")
    clock.advance(timedelta(days=1))
    delivered(client, rt, clock, "B1")
    clock.advance(timedelta(days=1))
    problem(client, rt, clock, "B2")
    drain(rt)
    second = emails(rt, "B2")[0]
    assert "isn't the first time" in second and "use the code" not in second


def test_a_problem_months_ago_is_not_a_repeat(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    post(client, clock, builders.customer_upserted(clock.now() - timedelta(days=5)))
    problem(client, rt, clock, "D1")
    clock.advance(timedelta(days=1))
    delivered(client, rt, clock, "D1")
    clock.advance(timedelta(days=40))
    problem(client, rt, clock, "D2")
    drain(rt)
    assert "isn't the first time" not in emails(rt, "D2")[0]


def test_a_lost_parcel_opens_a_task_and_says_so(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    post(client, clock, builders.customer_upserted(clock.now() - timedelta(days=5)))
    problem(client, rt, clock, "L1", exception="lost")
    drain(rt)
    with Session(rt.db) as session:
        task = session.exec(select(CareTask)).one()
    assert (task.order_id, task.reason, task.status) == ("L1", "lost", "open")
    assert any("on it" in body.lower() for body in emails(rt, "L1"))


def test_codes_load_once(rt: Runtime) -> None:
    load(rt, "X1", "X2")
    load(rt, "X2", "X3")
    with Session(rt.db) as session:
        assert remedies.pool_left(session) == 3
