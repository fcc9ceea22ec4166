"""Poison isolation: a row or template that cannot be processed is set aside with its reason, visible in
/api/quarantine and /metrics, and stops neither the scan, the relay, nor anyone else's notice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, col, select
from support import builders
from support.pipeline import feed

from engine.clock import SimulatedClock
from engine.compose.store import next_number, published_version
from engine.events import parse_events
from engine.inbound.service import store_events
from engine.models import InboundEvent, Notice, Order, TemplateVersion
from engine.processing import POISON_AFTER, apply_event
from engine.runtime import Runtime
from engine.scheduler import tick
from engine.vocabulary import Channel, VersionStatus

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]
API = {"Authorization": "Bearer test-token"}


def late_orders(rt: Runtime, clock: SimulatedClock, *customers: tuple[str, str, str]) -> None:
    """(customer, order, product) each: an order that will be late to ship once a day passes unshipped."""
    t = clock.now()
    events = []
    for customer_id, order_id, product in customers:
        events.append(builders.customer_upserted(t, cid=customer_id, channels=["email"], email=f"{customer_id}@x.test"))
        events.append(
            builders.order_created(
                t,
                order_id=order_id,
                customer_id=customer_id,
                promised_in=timedelta(days=3),
                lines=[{"name": product, "quantity": 1}],
            )
        )
    feed(rt, *events)
    # Past its last call (the promise day): with no trips learned, an unshipped order is warned no earlier
    # than the plain rules would (engine/detection/assess.py), and the scan now warns.
    clock.advance(timedelta(days=3, minutes=5))


def notices_of(rt: Runtime, customer_id: str) -> list[Notice]:
    with Session(rt.db) as session:
        return list(session.exec(select(Notice).where(Notice.customer_id == customer_id)).all())


def unhandled_event(rt: Runtime, clock: SimulatedClock) -> None:
    """An event the broker lost: the relay must still queue it again although the scan ran into trouble."""
    with rt.unit_of_work() as session:
        store_events(
            session,
            source="events",
            events=parse_events([builders.shipment(clock.now(), "in_transit", order_id="A-GOOD")]),
            received_at=clock.now() - timedelta(minutes=10),
            queue=False,
        )


@pytest.fixture
def poison_trigger(rt: Runtime) -> Iterator[None]:
    """The database refuses any notice to customer C-POISON: a row no code path can write (the stand-in
    for whatever the next unforeseen constraint is)."""
    postgres = rt.db.dialect.name == "postgresql"
    with rt.db.begin() as conn:
        if postgres:
            conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION poison_notice() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.customer_id = 'C-POISON' THEN RAISE EXCEPTION 'poison row'; END IF; RETURN NEW; "
                    "END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text("CREATE TRIGGER poison BEFORE INSERT ON notices FOR EACH ROW EXECUTE FUNCTION poison_notice()")
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON notices WHEN NEW.customer_id = 'C-POISON' "
                    "BEGIN SELECT RAISE(ABORT, 'poison row'); END"
                )
            )
    yield
    with rt.db.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS poison" + (" ON notices" if postgres else "")))


def test_an_order_that_cannot_be_written_is_quarantined_and_the_tick_goes_on(
    rt: Runtime, clock: SimulatedClock, client: TestClient, poison_trigger: None
) -> None:
    late_orders(rt, clock, ("C-GOOD", "A-GOOD", "Desk lamp"), ("C-POISON", "A-POISON", "Desk lamp"))
    unhandled_event(rt, clock)

    report = tick(rt)

    assert report.events_requeued == 1  # the relay ran
    assert [n.situation for n in notices_of(rt, "C-GOOD")] == ["order.late_to_ship"]
    assert notices_of(rt, "C-POISON") == []
    [held] = client.get("/api/quarantine", headers=API).json()["items"]
    assert (held["kind"], held["ref"], held["step"], held["failures"]) == ("order", "A-POISON", "scan", 1)
    assert "poison row" in held["reason"] and held["retry_at"] is not None
    assert 'forewarn_quarantined{kind="order",step="scan"} 1' in client.get("/metrics").text

    tick(rt)  # not tried again at once: it would only fail again and cost every tick
    assert client.get("/api/quarantine", headers=API).json()["items"][0]["failures"] == 1
    clock.advance(timedelta(hours=1, minutes=1))
    tick(rt)
    assert client.get("/api/quarantine", headers=API).json()["items"][0]["failures"] == 2


def test_a_product_name_longer_than_any_subject_still_warns_with_a_cut_subject(
    rt: Runtime, clock: SimulatedClock
) -> None:
    product = "Ergonomic standing desk " * 30  # 720 characters: the subject column holds 500
    late_orders(rt, clock, ("C-LONG", "A-LONG", product), ("C-GOOD", "A-GOOD", "Desk lamp"))
    tick(rt)
    [long_one] = notices_of(rt, "C-LONG")
    assert long_one.status == "pending" and long_one.subject is not None
    assert len(long_one.subject) <= 200 and long_one.subject.endswith("…")
    assert product.strip()[1:] in long_one.body  # the body is not cut (its first letter is lower-cased there)
    assert len(notices_of(rt, "C-GOOD")) == 1


def staff_edit(rt: Runtime, situation: str, stage: str, part: str, source: str) -> None:
    """Publish words straight into the table, past the editor's checks (which would refuse them): a bad
    version that reached the database by another way (an older build, a hand edit) must still not stop
    the scan."""
    with rt.unit_of_work() as session:
        key = dict(situation=situation, stage=stage, channel=Channel.EMAIL, locale="en")
        current = published_version(session, **key)
        assert current is not None
        current.status = VersionStatus.SUPERSEDED
        session.add(current)
        session.flush()
        session.add(
            TemplateVersion(
                **key,
                number=next_number(session, **key),
                status=VersionStatus.PUBLISHED,
                parts={**current.parts, part: source},
                author="staff:test",
                created_at=rt.clock.now(),
                published_by="staff:test",
                published_at=rt.clock.now(),
            )
        )


def test_a_template_that_calls_itself_fails_its_notices_not_the_scan(rt: Runtime, clock: SimulatedClock) -> None:
    staff_edit(rt, "order.late_to_ship", "initial", "text", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(1) }}")
    late_orders(rt, clock, ("C1", "A1", "Desk lamp"))
    unhandled_event(rt, clock)
    report = tick(rt)
    assert report.events_requeued == 1
    [notice] = notices_of(rt, "C1")
    assert notice.status == "failed"
    assert notice.status_reason is not None and "calls itself too deeply" in notice.status_reason


@pytest.fixture
def poison_order_trigger(rt: Runtime) -> Iterator[None]:
    """The database refuses order A-POISON: applying its event can never succeed."""
    postgres = rt.db.dialect.name == "postgresql"
    with rt.db.begin() as conn:
        if postgres:
            conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION poison_order() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.id = 'A-POISON' THEN RAISE EXCEPTION 'poison order'; END IF; RETURN NEW; "
                    "END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text("CREATE TRIGGER poison BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION poison_order()")
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON orders WHEN NEW.id = 'A-POISON' "
                    "BEGIN SELECT RAISE(ABORT, 'poison order'); END"
                )
            )
    yield
    with rt.db.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS poison" + (" ON orders" if postgres else "")))


def test_an_event_that_cannot_be_applied_is_retried_then_set_aside(
    rt: Runtime, clock: SimulatedClock, client: TestClient, poison_order_trigger: None
) -> None:
    t = clock.now()
    with rt.unit_of_work() as session:
        stored = store_events(
            session,
            source="events",
            events=parse_events(
                [
                    builders.customer_upserted(t),
                    builders.order_created(t, order_id="A-POISON"),
                    builders.order_created(t, order_id="A-GOOD"),
                ]
            ),
            received_at=t,
            queue=False,
        )
    customer, poison, good = stored.accepted
    assert apply_event(rt, customer) == "applied"
    for attempt in range(1, POISON_AFTER + 1):
        outcome = apply_event(rt, poison)
        assert outcome == ("quarantined" if attempt == POISON_AFTER else "waiting: failed to apply")
        clock.advance(timedelta(hours=2))
    assert apply_event(rt, good) == "applied"
    with Session(rt.db) as session:
        assert session.get(Order, "A-GOOD") is not None
        row = session.get(InboundEvent, poison)
        assert row is not None and row.handled_at is not None and "poison order" in (row.error or "")
        unhandled = session.exec(select(InboundEvent.id).where(col(InboundEvent.handled_at).is_(None))).all()
    assert unhandled == []  # the relay will not queue it again
    [held] = client.get("/api/quarantine?kind=event", headers=API).json()["items"]
    assert (held["ref"], held["step"], held["failures"], held["retry_at"]) == (str(poison), "apply", 3, None)
