"""Announcing an outage: tell a component's followers once it stayed down past the debounce.

The scheduler's `scan_outages` finds components whose `notify_at` is due and fans out to their
followers in id-ordered batches of FOREWARN_FANOUT_BATCH, one transaction each; on PostgreSQL an `AnnouncementWriter`
writes batch n while the next is composed. `notify_at` is cleared only after the last batch is written,
so a crash part-way resumes from the start on the next scan; customers already in an open thread about
the incident are skipped, so nobody hears twice.

Two brakes (docs/architecture.md, "Blast-radius guard and pause"): while sending is paused nothing is
announced (due components stay due), and a big fan-out waits for staff (`gate`).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlmodel import Session

from engine import audit
from engine.brakes.pause import is_paused
from engine.db import row_locks
from engine.db.bulk import rare_collections
from engine.detection.outages.gate import cleared, declined
from engine.detection.outages.rule import disruption, down_reason
from engine.detection.outages.writer import AnnouncementWriter, still_due
from engine.models import Component, Incident
from engine.notices.planner import Planner
from engine.quarantine import guarded
from engine.runtime import Runtime
from engine.situations.service import Changes, Raise, prepare_raise, write_changes
from engine.state.services import DOWN, due_components
from engine.state.subscriptions import load_subscribers, subscribers_page
from engine.vocabulary import PoisonKind, Step


def scan_outages(rt: Runtime, *, batch: int | None = None) -> int:
    """Announce every outage whose debounce has run out; returns the customers newly told. `batch`:
    customers per transaction (FOREWARN_FANOUT_BATCH)."""
    now = rt.clock.now()
    with rt.unit_of_work() as session:
        if is_paused(session):
            return 0  # sending is paused: due components stay due until staff resume
        due = due_components(session, now=now)
    size = batch or rt.settings.fanout_batch
    with rare_collections():
        # A component whose announcement fails (engine.quarantine) stays due and is tried again next scan;
        # the other components are announced meanwhile.
        told = [
            guarded(
                rt,
                partial(_announce, rt, name, now=now, batch=size),
                kind=PoisonKind.COMPONENT,
                ref=name,
                step=Step.ANNOUNCE,
            )
            for name in due
        ]
    return sum(n or 0 for n in told)


def _announce(rt: Runtime, name: str, *, now: datetime, batch: int) -> int:
    """Fan out to the component's followers, if it is still due and cleared; returns how many were told."""
    with rt.unit_of_work() as session:
        incident_id = _ready(session, rt, name, now=now)
    if incident_id is None:
        return 0
    writer = AnnouncementWriter(rt, component=name, incident_id=incident_id, now=now)
    try:
        complete = _fan_out(rt, writer, name, incident_id, now=now, batch=batch)
        writer.finish()
    finally:
        writer.close()
    if complete and not writer.stopped:
        with rt.unit_of_work() as session:
            _mark_announced(session, name, incident_id, told=writer.told, now=now)
    return writer.told


def _ready(session: Session, rt: Runtime, name: str, *, now: datetime) -> str | None:
    """The incident to announce for the component, if it is still down, due, and cleared by the gate."""
    component = session.get(Component, name, with_for_update=row_locks(session))
    if component is None or component.notify_at is None or component.notify_at > now or component.status not in DOWN:
        return None  # healed (or announced) meanwhile
    incident = session.get(Incident, component.incident_id) if component.incident_id else None
    if incident is None:
        component.notify_at = None
        return None
    if not cleared(session, rt, component, incident, now=now):
        return None  # waiting for (or declined by) staff
    return incident.id


def _fan_out(
    rt: Runtime, writer: AnnouncementWriter, name: str, incident_id: str, *, now: datetime, batch: int
) -> bool:
    """Compose batch after batch of followers and hand each to the writer; True when every follower was
    reached, False when the component healed, moved or the writer stopped first."""
    planner = Planner(rt, now=now)  # one memo of renderings for the whole fan-out
    after = ""
    while not writer.failed:
        with rt.unit_of_work() as session:
            # Read without the row lock when another thread writes: it takes the lock and re-checks.
            component = session.get(Component, name, with_for_update=row_locks(session) and not writer.threaded)
            incident = session.get(Incident, incident_id)
            if incident is None or component is None or not still_due(component, incident_id=incident_id, now=now):
                return False
            customers = subscribers_page(session, name, after=after, limit=batch)
            if not customers:
                return True
            why = down_reason(component)
            changes = prepare_raise(
                session,
                planner,
                disruption(incident),
                items=[Raise(customer, why) for customer in customers],
                material=False,
                lock=not writer.threaded,
                id_range=True,
            )
            if not writer.threaded:
                write_changes(session, changes)
        _hand_over(writer, changes)
        after = customers[-1].id
    return False


def _hand_over(writer: AnnouncementWriter, changes: Changes) -> None:
    if writer.threaded:
        writer.submit(changes)
    else:
        writer.written(changes)


def _mark_announced(session: Session, name: str, incident_id: str, *, told: int, now: datetime) -> None:
    component = session.get(Component, name, with_for_update=row_locks(session))
    if component is None or not still_due(component, incident_id=incident_id, now=now):
        return
    component.notify_at = None
    audit.append(
        session,
        at=now,
        actor="system",
        action="incident.announced",
        subject=f"incident:{incident_id}",
        details={"component": name, "status": component.status, "down_since": component.down_since, "recipients": told},
    )


def tell_new_follower(session: Session, rt: Runtime, customer_id: str, components: list[str]) -> int:
    """A customer who starts following a component that is down and already announced hears about it now,
    as those told at the announcement did (one thread per incident; a declined fan-out tells nobody).

    A component still inside its debounce needs nothing: the announcing scan reads followers then.
    Returns how many incidents they were told about.
    """
    subscriber = load_subscribers(session, [customer_id]).get(customer_id)
    if subscriber is None:
        return 0
    planner = Planner(rt, now=rt.clock.now())
    opened = 0
    for name in components:
        component = session.get(Component, name)
        if component is None or component.status not in DOWN or component.notify_at is not None:
            continue
        incident = session.get(Incident, component.incident_id) if component.incident_id else None
        if incident is None or declined(session, incident_id=incident.id, component=name):
            continue
        items = [Raise(subscriber, f"{down_reason(component)}; followed after it was announced")]
        changes = prepare_raise(session, planner, disruption(incident), items=items, material=False)
        write_changes(session, changes)
        opened += changes.told
    return opened
