"""Remember the customer: repeat problems are acknowledged, a remedy from the pool is offered once, a third
problem and a lost or stalled parcel open a care task that closes when the matter resolves."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from support import builders, staff
from support.pipeline import drain, notices, post

from engine.care import remedies
from engine.clock import SimulatedClock
from engine.links.tokens import Page, make_token
from engine.models import AuditEntry, CareTask, RemedyCode
from engine.runtime import Runtime
from engine.staff import tokens
from engine.vocabulary import StaffRole

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


def test_a_damaged_parcel_that_arrives_keeps_its_task_until_a_person_closes_it(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    """The damaged-parcel warning promised contact about a replacement or a refund: the arrival is not good
    news, the task stays open, and only staff with a writing role close it (audited)."""
    post(client, clock, builders.customer_upserted(clock.now() - timedelta(days=5)))
    problem(client, rt, clock, "M1", exception="damaged")
    assert "will be in touch about a replacement or a refund" in emails(rt, "M1")[0]
    clock.advance(timedelta(hours=20))
    delivered(client, rt, clock, "M1")
    with Session(rt.db) as session:
        arrival = [n for n in notices(rt) if n.order_id == "M1" and n.channel == "email"][-1]
        task = session.exec(select(CareTask)).one()
    assert arrival.stage == "resolved"
    assert "after all" not in (arrival.subject or "") and "Good news" not in arrival.body
    assert "damaged on the way" in arrival.body
    assert "Our team will still be in touch about a replacement or a refund" in arrival.body
    assert (task.reason, task.status) == ("damaged", "open")
    page = "/s/" + make_token(rt.settings.secret_key, Page.ORDER, "M1")
    assert "Our team is on it." in client.get(page).text  # the status page says the same

    viewer = staff.make_staff(rt, "viewer@example.com", StaffRole.VIEWER)
    with rt.unit_of_work() as session:
        secret = tokens.create_token(session, session.merge(viewer), name="reader", at=clock.now()).secret
    refused = client.post(f"/api/tasks/{task.id}/close", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 403
    closed = client.post(f"/api/tasks/{task.id}/close", headers=AUTH, json={"note": "replacement sent"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert client.post(f"/api/tasks/{task.id}/close", headers=AUTH).status_code == 409
    assert "Our team is on it." not in client.get(page).text
    assert client.post("/api/tasks/999999/close", headers=AUTH).status_code == 404
    with Session(rt.db) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "care_task.closed")).one()
    assert entry.actor != "system" and entry.details["reason"] == "closed by staff"
