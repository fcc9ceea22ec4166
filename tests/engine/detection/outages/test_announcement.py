"""An outage fan-out in batches tells the same people the same things as telling each customer alone.

The reference is a batch of one per customer (`raise_situation` / `resolve_subject`, the path an order's
warning takes), run in a transaction that is rolled back; then the announcement runs for real, in batches
that straddle shared numbers and pages, written by the fan-out's writer, and its notices and audit
entries must match, id numbering aside.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, func, select, update
from support import builders
from support.outage_story import status
from support.pipeline import drain, feed

from engine.audit import verify_chain
from engine.clock import SimulatedClock, format_instant
from engine.detection.outages.announcement import scan_outages
from engine.detection.outages.rule import KIND, UPDATE_EVERY, disruption, incident_subject_key
from engine.detection.outages.writer import AnnouncementWriter
from engine.events import parse_event, parse_events
from engine.inbound.service import store_events
from engine.models import AuditEntry, Component, Customer, CustomerComponent, Incident, Notice, Situation
from engine.notices.composer import Subject
from engine.notices.journal import drop_notice
from engine.notices.planner import Planner
from engine.processing import apply_event
from engine.runtime import Runtime
from engine.situations.service import Raise, prepare_raise, raise_situation, resolve_subject
from engine.state.services import apply_service_status
from engine.state.subscriptions import subscribers_page
from engine.suppressions import service as suppressions
from engine.vocabulary import Channel, SuppressionKind

SHARED_A, SHARED_B = "+15550000001", "+15550000002"
# (id, fields): every way routing, wording and timing can differ between customers.
PEOPLE: list[tuple[str, dict[str, Any]]] = [
    ("C01", {"name": "Ana Souza", "channels": ["email", "sms"]}),
    ("C02", {"name": "João Pedro", "locale": "pt-BR", "timezone": "America/Sao_Paulo", "channels": ["email", "sms"]}),
    ("C03", {"name": "Kenji Sato", "timezone": "Asia/Tokyo", "channels": ["email", "sms"]}),  # 03:00 there
    ("C04", {"name": "Ana Lima", "phone": SHARED_A, "channels": ["sms"]}),
    ("C05", {"name": "Bo Lima", "phone": SHARED_A, "channels": ["sms"]}),  # same number, other batch
    ("C06", {"name": "Cy", "channels": ["sms"], "quiet_hours": "12:00-14:00"}),  # 13:00 in New York
    ("C07", {"name": "Dee", "channels": ["email", "sms"], "phone": None}),
    ("C08", {"name": "Eve", "channels": []}),
    ("C09", {"name": "", "phone": SHARED_B, "channels": ["sms", "email"]}),
    ("C10", {"name": "Ana Souza", "phone": SHARED_B, "channels": ["sms"]}),
    ("C11", {"name": "Flor", "locale": "es", "timezone": "Europe/Madrid", "channels": ["email"]}),
    ("C12", {"name": "Gus", "channels": ["email", "sms"], "email_opted_out": True}),
    ("C13", {"name": "Hal", "channels": ["email", "sms"], "sms_stop": True}),  # the number replied STOP
    ("C14", {"name": "Ana Souza", "channels": ["email"]}),
]
OPT_OUTS = ("email_opted_out", "sms_stop")


def customers(rt: Runtime) -> None:
    events = []
    for i, (cid, fields) in enumerate(PEOPLE):
        given = {k: v for k, v in fields.items() if k not in OPT_OUTS}
        given.setdefault("phone", f"+1555010{i:04d}")
        events.append(
            builders.customer_upserted(
                rt.clock.now(), cid=cid, email=f"{cid.lower()}@example.com", components=["checkout"], **given
            )
        )
    events.append(builders.customer_upserted(rt.clock.now(), cid="C99", components=["search"], channels=["email"]))
    feed(rt, *events)
    with rt.unit_of_work() as session:
        for cid, fields in PEOPLE:
            if fields.get("email_opted_out"):
                session.exec(update(Customer).where(col(Customer.id) == cid).values(email_opted_out=True))
            if fields.get("sms_stop"):
                customer = session.get(Customer, cid)
                assert customer is not None and customer.phone
                suppressions.suppress(
                    session,
                    channel=Channel.SMS,
                    address=customer.phone,
                    reason="replied STOP",
                    source="twilio",
                    kind=SuppressionKind.OPT_OUT,
                    actor="system",
                    at=rt.clock.now(),
                )


Ids = dict[str, dict[str, str]]


def _renumber(text: str, ids: Ids) -> str:
    def one(match: re.Match[str]) -> str:
        kind, number = match[1], match[2]
        seen = ids.setdefault(kind, {})
        return f"{kind}#{seen.setdefault(number, str(len(seen) + 1))}"

    return re.sub(r"(notice[:-]|situation:)(\d+)", one, text)


def snapshot(session: Session, *, notices_after: int, seq_after: int) -> tuple[list[tuple[Any, ...]], list[str]]:
    """What was planned since the marks: notices and audit entries with ids numbered by first appearance."""
    ids: Ids = {}
    rows = session.exec(select(Notice).where(col(Notice.id) > notices_after).order_by(col(Notice.id))).all()
    entries = session.exec(
        select(AuditEntry).where(col(AuditEntry.seq) > seq_after).order_by(col(AuditEntry.seq))
    ).all()
    audited = [
        _renumber(f"{e.action} {e.subject} {sorted(e.details.items())}", ids)
        for e in entries
        if e.action != "incident.announced" and not e.action.startswith("event.")  # the scan's and the feed's own
    ]
    notices = [
        (
            n.customer_id,
            n.situation,
            n.stage,
            n.channel,
            n.recipient,
            n.locale,
            n.template,
            n.subject,
            n.body,
            n.html,
            n.send_at,
            n.deferred,
            n.status,
            n.status_reason,
            n.thread_key,
            n.incident_id,
            _renumber(n.message_id or "", ids),
            _renumber(n.in_reply_to or "", ids),
            n.enqueued_at,
        )
        for n in rows
    ]
    return notices, audited


def marks(session: Session) -> tuple[int, int]:
    notice = session.exec(select(func.max(Notice.id))).one() or 0
    seq = session.exec(select(func.max(AuditEntry.seq))).one() or 0
    return notice, seq


def one_by_one(rt: Runtime, act: Callable[[Session], None]) -> tuple[list[tuple[Any, ...]], list[str]]:
    """Run the per-customer path, read what it planned, and roll it all back."""
    with Session(rt.db, expire_on_commit=False) as session:
        notices_after, seq_after = marks(session)
        act(session)
        session.flush()
        planned = snapshot(session, notices_after=notices_after, seq_after=seq_after)
        session.rollback()
    return planned


def bulk(rt: Runtime, act: Callable[[], None]) -> tuple[list[tuple[Any, ...]], list[str]]:
    with Session(rt.db) as session:
        notices_after, seq_after = marks(session)
    act()
    with Session(rt.db) as session:
        return snapshot(session, notices_after=notices_after, seq_after=seq_after)


def announce_each(session: Session, rt: Runtime) -> None:
    """The per-customer announcement: every subscriber not already in an open thread hears once."""
    component = session.get(Component, "checkout")
    assert component is not None and component.incident_id and component.down_since
    incident = session.get(Incident, component.incident_id)
    assert incident is not None
    key = incident_subject_key(incident.id)
    subscribed = session.exec(
        select(Customer)
        .join(CustomerComponent, col(CustomerComponent.customer_id) == col(Customer.id))
        .where(CustomerComponent.component == "checkout")
        .order_by(col(Customer.id))
    ).all()
    for customer in subscribed:
        existing = session.exec(
            select(Situation).where(
                Situation.customer_id == customer.id, Situation.subject_key == key, Situation.kind == KIND
            )
        ).first()
        if existing is not None and existing.status == "open":
            continue
        reason = f"checkout {component.status} since {format_instant(component.down_since)}"
        raise_situation(session, rt, disruption(incident), customer=customer, material=True, reason=reason)


def open_threads(session: Session, incident: Incident) -> list[Situation]:
    key = incident_subject_key(incident.id)
    return list(
        session.exec(
            select(Situation)
            .where(Situation.subject_key == key, Situation.kind == KIND, Situation.status == "open")
            .order_by(col(Situation.id))
        ).all()
    )


def apply(rt: Runtime, event: dict[str, Any]) -> None:
    """Store and apply one event as the worker would, delivering nothing yet."""
    with rt.unit_of_work() as session:
        stored = store_events(
            session, source="events", events=parse_events([event]), received_at=rt.clock.now(), queue=False
        )
    for event_id in stored.accepted:
        apply_event(rt, event_id)


def status_event(rt: Runtime, value: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": builders.next_id(),
        "type": "service.status",
        "occurred_at": format_instant(rt.clock.now()),
        "service": {"component": "checkout", "status": value, "title": "checkout is failing", **fields},
    }


def update_each(rt: Runtime, event: dict[str, Any]) -> Callable[[Session], None]:
    def act(session: Session) -> None:
        change = apply_service_status(session, parse_event(event), now=rt.clock.now())
        incident = change.incident
        assert incident is not None
        now = rt.clock.now()
        for situation in open_threads(session, incident):
            told = situation.details
            if now - situation.updated_at < UPDATE_EVERY or told.get("status") == incident.status:
                continue
            customer = session.get(Customer, situation.customer_id)
            assert customer is not None
            waiting = session.exec(
                select(Notice)
                .where(Notice.customer_id == customer.id, Notice.thread_key == situation.subject_key)
                .order_by(col(Notice.id))
            ).all()
            for notice in waiting:
                if notice.stage in ("initial", "update") and notice.status == "pending" and notice.deferred:
                    drop_notice(session, notice, at=now, reason="replaced by newer news before it was sent")
            reason = f"worse: {told.get('status')} -> {incident.status}"
            raise_situation(session, rt, disruption(incident), customer=customer, material=True, reason=reason)

    return act


def resolve_each(rt: Runtime, event: dict[str, Any]) -> Callable[[Session], None]:
    def act(session: Session) -> None:
        change = apply_service_status(session, parse_event(event), now=rt.clock.now())
        incident = change.incident
        assert incident is not None
        for situation in open_threads(session, incident):
            customer = session.get(Customer, situation.customer_id)
            assert customer is not None
            resolve_subject(
                session,
                rt,
                customer=customer,
                subject_key=situation.subject_key,
                subject=Subject(incident=incident),
                reason="incident resolved",
                follow_up=True,
            )

    return act


def test_bulk_fan_out_matches_the_per_customer_path_at_every_stage(rt: Runtime, clock: SimulatedClock) -> None:
    customers(rt)
    clock.set(clock.now().replace(hour=17))  # 12:00 in New York, 02:00 in Tokyo
    status(rt, "checkout", "partial_outage", message="We are investigating.")
    clock.advance(timedelta(minutes=61))  # Cy's own quiet hours (12:00-14:00) have begun

    # Announced after the debounce, in batches of four (so pages and shared numbers straddle batches).
    expected = one_by_one(rt, lambda session: announce_each(session, rt))
    announced = bulk(rt, lambda: scan_outages(rt, batch=4))
    assert announced == expected
    stages = {(n[0], n[3], n[2], n[11]) for n in announced[0]}
    assert ("C03", "sms", "initial", True) in stages and ("C06", "sms", "initial", True) in stages  # deferred
    assert not any(n[0] in ("C08", "C99") for n in announced[0])
    first_texts = {n[0]: "Reply STOP" in n[8] for n in announced[0] if n[3] == "sms"}
    assert first_texts["C04"] and not first_texts["C05"] and first_texts["C09"] and not first_texts["C10"]
    drain(rt)

    # Worse news after two hours: one update each; the texts still waiting for morning are replaced.
    clock.advance(timedelta(hours=2, minutes=5))
    event = status_event(rt, "major_outage", incident_id="INC-7", message="A database node failed.")
    expected = one_by_one(rt, update_each(rt, event))
    updated = bulk(rt, lambda: apply(rt, event))
    assert updated == expected
    assert any(n[2] == "update" for n in updated[0]) and any("notice.dropped" in a for a in updated[1])
    drain(rt)

    # Fixed: a thank-you on exactly the channels a warning went out on.
    clock.advance(timedelta(minutes=30))
    event = status_event(rt, "operational", incident_id="INC-7", message="Fixed.")
    expected = one_by_one(rt, resolve_each(rt, event))
    resolved = bulk(rt, lambda: apply(rt, event))
    assert resolved == expected
    drain(rt)

    # The same incident flares up again: threads reopen, and carry on as updates.
    clock.advance(timedelta(hours=1))
    status(rt, "checkout", "major_outage", message="It is back.")
    clock.advance(timedelta(minutes=10))
    expected = one_by_one(rt, lambda session: announce_each(session, rt))
    reopened = bulk(rt, lambda: scan_outages(rt, batch=5))
    assert reopened == expected
    assert {n[2] for n in reopened[0]} == {"update"}
    assert all(n[17].startswith("notice-#") for n in reopened[0] if n[3] == "email")  # In-Reply-To the first

    result = verify_chain(rt.db)
    assert result.ok, result


def test_the_resolution_goes_to_exactly_those_told_and_the_chain_verifies(rt: Runtime, clock: SimulatedClock) -> None:
    customers(rt)
    status(rt, "checkout", "major_outage")  # 18:00 UTC: night in Tokyo, afternoon in New York
    clock.advance(timedelta(minutes=10))
    scan_outages(rt, batch=3)
    drain(rt)
    with Session(rt.db) as session:
        warned = {(n.customer_id, n.channel) for n in session.exec(select(Notice).where(Notice.status == "sent"))}
        waiting = {
            (n.customer_id, n.channel)
            for n in session.exec(select(Notice).where(Notice.status == "pending", col(Notice.deferred)))
        }
    assert ("C03", "email") in warned and ("C03", "sms") in waiting  # the text waits for Tokyo's morning
    status(rt, "checkout", "operational")
    with Session(rt.db) as session:
        rows = session.exec(select(Notice).order_by(col(Notice.id))).all()
        entries = session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))).all()
    thanked = {(n.customer_id, n.channel) for n in rows if n.stage == "resolved"}
    assert thanked == warned
    assert all(n.status == "dropped" for n in rows if (n.customer_id, n.channel) in waiting and n.stage == "initial")
    # One audit entry per notice planned, and the chain verifies from the first entry to the last.
    planned = {e.subject for e in entries if e.action in ("notice.planned", "notice.deferred")}
    assert planned == {f"notice:{n.id}" for n in rows}
    result = verify_chain(rt.db)
    assert result.ok and result.checked == len(entries)
    verify = subprocess.run(
        [sys.executable, "-m", "engine.cli", "audit", "verify"],
        env={**os.environ, "FOREWARN_DATABASE_URL": rt.settings.database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0 and f"{len(entries)} entries verified" in verify.stdout


def test_a_batch_composed_before_the_component_healed_is_not_written(rt: Runtime, clock: SimulatedClock) -> None:
    customers(rt)
    status(rt, "checkout", "major_outage")
    clock.advance(timedelta(minutes=10))
    with rt.unit_of_work() as session:
        incident = session.get(Incident, "INC-7")
        assert incident is not None
        opening = prepare_raise(
            session,
            Planner(rt, now=clock.now()),
            disruption(incident),
            items=[
                Raise(c, "checkout major_outage") for c in subscribers_page(session, "checkout", after="", limit=100)
            ],
            material=False,
            lock=False,
        )
    assert opening.told == len(PEOPLE) and opening.notices.rows
    status(rt, "checkout", "operational")  # healed while the batch waited for the writer
    writer = AnnouncementWriter(rt, component="checkout", incident_id="INC-7", now=clock.now())
    writer.submit(opening)
    writer.finish()
    assert writer.stopped and writer.told == 0
    with Session(rt.db) as session:
        assert session.exec(select(func.count(col(Notice.id)))).one() == 0
        assert session.exec(select(func.count(col(Situation.id)))).one() == 0
    assert verify_chain(rt.db).ok
