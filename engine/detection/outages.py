"""Outages: tell subscribed customers once a component has stayed down past the debounce.

Nothing is sent when a component goes down: its `notify_at` (down_since + FOREWARN_OUTAGE_DEBOUNCE)
is set, and the scheduler's `scan_outages` fans out when that is due, so a blip that heals inside the
window sends nothing. Each customer hears one thread per incident (`incident:<id>`): an `initial`, an
`update` only on news (worse severity or a new message, at most every UPDATE_EVERY), and a `resolved`
once none of the incident's components is down, to exactly the channels that were told.

Two brakes (docs/architecture.md, "Blast-radius guard and pause"): while sending is paused nothing is
announced (due components stay due), and a component with more than FOREWARN_FANOUT_APPROVAL subscribers
is announced only once staff approved it (`engine.approvals`); a declined one is never announced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from engine import audit
from engine.approvals import repository as approvals_repo
from engine.approvals.service import request_approval
from engine.bulkdb import rare_collections
from engine.clock import format_instant
from engine.compose.context import build_context
from engine.compose.incidents import is_news
from engine.compose.render import render_message
from engine.db import row_locks
from engine.detection.fanout_writer import AnnouncementWriter, still_due
from engine.durations import parse_duration
from engine.errors import TemplateError
from engine.models import ApprovalStatus, Component, Customer, Incident, Situation
from engine.notices.bulk import BulkPlanner
from engine.notices.planner import Subject
from engine.pause import is_paused
from engine.runtime import Runtime, enqueue_after_commit
from engine.situations import repository as situations_repo
from engine.situations.bulk import Update, open_many, prepare_opening, resolve_many, update_many, write_opening
from engine.state.services import DOWN, ComponentChange
from engine.state.subscriptions import (
    Subscriber,
    count_subscribers,
    first_subscriber,
    load_subscribers,
    subscribers_page,
)
from engine.unsubscribe import unsubscribe_url

KIND = "service.disruption"
SEVERITY = {"degraded_performance": 1, "partial_outage": 2, "major_outage": 3}
# An incident thread gets at most one update in this long, however chatty the status page is.
UPDATE_EVERY = timedelta(hours=2)
# Customers per fan-out transaction: enough to amortise each statement, few enough to keep memory flat.
BATCH = 2000
SYNC_THREADS_ACTOR = "incidents.sync_threads"


def incident_subject_key(incident_id: str) -> str:
    return f"incident:{incident_id}"


def outage_debounce(rt: Runtime) -> timedelta:
    return parse_duration(rt.settings.outage_debounce)


def on_component_change(session: Session, rt: Runtime, change: ComponentChange) -> None:
    """A status event was applied: start the debounce, update those told, or resolve their threads."""
    if change.stale:
        return
    component, incident = change.component, change.incident
    old = change.previous_incident_id
    if component.status in DOWN:
        if change.previous_status not in DOWN and component.down_since is not None:
            # A new spell: customers hear about it only if it lasts (the scan does the telling).
            component.notify_at = component.down_since + outage_debounce(rt)
        elif old is not None and old != component.incident_id and component.down_since is not None:
            # Still down, now filed under another incident: that one is announced at the next scan.
            component.notify_at = component.down_since + outage_debounce(rt)
        if incident is not None:
            _update_told(session, rt, incident)
    else:
        component.notify_at = None
        if incident is not None and not _still_down(session, incident):
            _resolve_told(session, rt, incident)
    if old is not None and old != (incident.id if incident is not None else None):
        previous = session.get(Incident, old)
        if previous is not None and not _still_down(session, previous):
            _resolve_told(session, rt, previous)


def scan_outages(rt: Runtime, *, batch: int = BATCH) -> int:
    """Announce every outage whose debounce has run out; returns the customers newly told."""
    now = rt.clock.now()
    with rt.unit_of_work() as session:
        if is_paused(session):
            return 0  # sending is paused: due components stay due until staff resume
        due = session.exec(
            select(Component.name)
            .where(col(Component.notify_at) <= now)
            .order_by(col(Component.notify_at), col(Component.name))
        ).all()
    with rare_collections():
        return sum(_announce(rt, name, now=now, batch=batch) for name in due)


def _announce(rt: Runtime, name: str, *, now: datetime, batch: int) -> int:
    """Fan out to the component's subscribers in id-ordered batches, one transaction each.

    Batches are composed here and written by an `AnnouncementWriter` (on PostgreSQL in its own thread,
    overlapping the next batch's composing). `notify_at` is cleared only after the last batch is written,
    so a crash part-way resumes from the start on the next scan; customers already in an open thread about
    the incident are skipped, so nobody hears twice.
    """
    with rt.unit_of_work() as session:
        component = session.get(Component, name, with_for_update=row_locks(session))
        if (
            component is None
            or component.notify_at is None
            or component.notify_at > now
            or component.status not in DOWN
        ):
            return 0  # healed (or announced) meanwhile
        incident = session.get(Incident, component.incident_id) if component.incident_id else None
        if incident is None:
            component.notify_at = None
            return 0
        if not _cleared(session, rt, component, incident, now=now):
            return 0  # waiting for (or declined by) staff
        incident_id = incident.id
    writer = AnnouncementWriter(rt, component=name, incident_id=incident_id, now=now)
    planner = BulkPlanner(rt, now=now)  # one memo of renderings for the whole fan-out
    after, complete = "", False
    try:
        while not writer.failed:
            with rt.unit_of_work() as session:
                # Read without the row lock when another thread writes: it takes the lock and re-checks.
                component = session.get(Component, name, with_for_update=row_locks(session) and not writer.threaded)
                incident = session.get(Incident, incident_id)
                if incident is None or component is None or not still_due(component, incident_id=incident_id, now=now):
                    break
                customers, last = _subscribers(session, name, after=after, limit=batch)
                if last is None:
                    complete = True
                    break
                down_since = format_instant(component.down_since) if component.down_since else "?"
                opening = prepare_opening(
                    session,
                    planner,
                    customers=customers,
                    kind=KIND,
                    subject_key=incident_subject_key(incident.id),
                    subject=Subject(incident=incident),
                    details=_details(incident),
                    reason=f"{component.name} {component.status} since {down_since}",
                    lock=not writer.threaded,
                )
                if not writer.threaded:
                    write_opening(session, opening)
            if writer.threaded:
                writer.submit(opening)
            else:
                writer.written(opening)
            after = last
        writer.finish()
    finally:
        writer.close()
    if not complete or writer.stopped:
        return writer.told
    with rt.unit_of_work() as session:
        component = session.get(Component, name, with_for_update=row_locks(session))
        if component is None or not still_due(component, incident_id=incident_id, now=now):
            return writer.told
        component.notify_at = None
        audit.append(
            session,
            at=now,
            actor="system",
            action="incident.announced",
            subject=f"incident:{incident_id}",
            details={
                "component": name,
                "status": component.status,
                "down_since": component.down_since,
                "recipients": writer.told,
            },
        )
    return writer.told


def tell_new_follower(session: Session, rt: Runtime, customer_id: str, components: list[str]) -> int:
    """A customer who starts following a component that is down and already announced hears about it now,
    as those told at the announcement did (one thread per incident; a declined fan-out tells nobody).

    A component still inside its debounce needs nothing: the announcing scan reads subscribers then.
    Returns how many incidents they were told about.
    """
    now = rt.clock.now()
    subscriber = load_subscribers(session, [customer_id]).get(customer_id)
    if subscriber is None:
        return 0
    opened = 0
    for name in components:
        component = session.get(Component, name)
        if component is None or component.status not in DOWN or component.notify_at is not None:
            continue
        incident = session.get(Incident, component.incident_id) if component.incident_id else None
        if incident is None:
            continue
        approval = approvals_repo.find(session, incident_id=incident.id, component=name)
        if approval is not None and approval.status == ApprovalStatus.DECLINED:
            continue
        down_since = format_instant(component.down_since) if component.down_since else "?"
        opened += open_many(
            session,
            BulkPlanner(rt, now=now),
            customers=[subscriber],
            kind=KIND,
            subject_key=incident_subject_key(incident.id),
            subject=Subject(incident=incident),
            details=_details(incident),
            reason=f"{name} {component.status} since {down_since}; followed after it was announced",
        )
    return opened


def _cleared(session: Session, rt: Runtime, component: Component, incident: Incident, *, now: datetime) -> bool:
    """Whether the fan-out may start: small enough, or approved by staff.

    A big one asks for approval once per incident and component and stays due meanwhile; a declined one
    has its `notify_at` cleared, so nothing is sent about the spell.
    """
    approval = approvals_repo.find(session, incident_id=incident.id, component=component.name)
    if approval is not None:
        if approval.status == ApprovalStatus.DECLINED:
            component.notify_at = None
            audit.append(
                session,
                at=now,
                actor="system",
                action="incident.not_announced",
                subject=f"incident:{incident.id}",
                details={"component": component.name, "reason": "fan-out declined", "approval_id": approval.id},
            )
        return approval.status == ApprovalStatus.APPROVED
    recipients = _count_over(session, component.name, rt.settings.fanout_approval)
    if recipients is None:
        return True
    first = _first_subscriber(session, component.name)
    subject, text = _preview(session, rt, first, incident, now=now) if first else (None, "")
    request_approval(
        session,
        incident_id=incident.id,
        component=component.name,
        recipients=recipients,
        preview_subject=subject,
        preview_text=text,
        now=now,
    )
    return False


def _count_over(session: Session, name: str, threshold: int) -> int | None:
    """The number of subscribers to `name` if it is over `threshold`, else None (one index-only count)."""
    recipients = count_subscribers(session, name)
    return recipients if recipients > threshold else None


def _first_subscriber(session: Session, name: str) -> Customer | None:
    return first_subscriber(session, name)


def _preview(
    session: Session, rt: Runtime, customer: Customer, incident: Incident, *, now: datetime
) -> tuple[str | None, str]:
    """The English email the first recipient would get, rendered from the live template, for staff."""
    situation = Situation(  # never added to the session: it only feeds the template context
        customer_id=customer.id,
        kind=KIND,
        subject_key=incident_subject_key(incident.id),
        incident_id=incident.id,
        details=_details(incident),
        opened_at=now,
        updated_at=now,
    )
    try:
        resolved = rt.templates.resolve(session, situation=KIND, stage="initial", channel="email", locale="en")
        context = build_context(
            settings=rt.settings,
            customer=customer,
            situation=situation,
            stage="initial",
            locale=resolved.locale,
            now=now,
            incident=incident,
            unsubscribe_url=unsubscribe_url(rt.settings, customer.id),
        )
        rendered = render_message(
            resolved.sources, context, channel="email", locale=resolved.locale, timezone=customer.timezone
        )
    except TemplateError as exc:
        return None, f"(no preview: {exc})"
    return (rendered.subject or "")[:500] or None, rendered.text


def _subscribers(session: Session, name: str, *, after: str, limit: int) -> tuple[list[Subscriber], str | None]:
    """The next batch of customers subscribed to `name`, and the last id looked at (None when done)."""
    customers = subscribers_page(session, name, after=after, limit=limit)
    return customers, (customers[-1].id if customers else None)


def _details(incident: Incident) -> dict[str, Any]:
    return {
        "incident_id": incident.id,
        "status": incident.status,
        "message": incident.message,
        "components": list(incident.components),
    }


def _news(told: dict[str, Any], incident: Incident) -> str | None:
    """Why this incident state is worth an update to someone told `told`, or None."""
    if SEVERITY.get(incident.status, 0) > SEVERITY.get(str(told.get("status")), 0):
        return f"worse: {told.get('status')} -> {incident.status}"
    if is_news(incident.message) and incident.message != told.get("message"):
        return "new message from the status page"  # not one that only restates the status
    return None


def _update_told(session: Session, rt: Runtime, incident: Incident) -> None:
    """Tell everyone in an open thread about the incident's news, at most every UPDATE_EVERY each.

    A warning still waiting out quiet hours is stale once there is news: the newer one replaces it, so
    nobody wakes up to two texts about the same incident.
    """
    _bring_threads_in_line(session, rt, incident, still_down=True)


def _resolve_told(session: Session, rt: Runtime, incident: Incident) -> None:
    """Close every open thread about the incident; thank exactly those warned, on the channels warned."""
    _bring_threads_in_line(session, rt, incident, still_down=False)


def _bring_threads_in_line(session: Session, rt: Runtime, incident: Incident, *, still_down: bool) -> None:
    """The first page of open threads now, in the status event's transaction; the rest by a job.

    A small incident is done at once and atomically with its status change. A big one (100,000 threads
    take tens of seconds) must not hold one transaction, and with it the audit chain every other writer
    waits on, that long: `incidents.sync_threads` goes on a page per transaction, and `threads_due_at`
    says when the scheduler should do it instead if the job is lost.
    """
    now = rt.clock.now()
    planner = BulkPlanner(rt, now=now)
    with rare_collections():
        page = _threads_page(session, planner, incident, still_down=still_down, after=0, batch=BATCH)
    if page.next_after is not None:
        # The job does the rest now; if it is lost, the scheduler does once FOREWARN_RELAY_AFTER has passed.
        incident.threads_due_at = now + parse_duration(rt.settings.relay_after)
        enqueue_after_commit(session, SYNC_THREADS_ACTOR, incident.id)
    elif page.held_until is not None:
        # News that came too soon after the last message: told once UPDATE_EVERY has passed, by the
        # scheduler, even if the status page says nothing more.
        incident.threads_due_at = _earlier(incident.threads_due_at, page.held_until)


def sync_threads(rt: Runtime, incident_id: str) -> int:
    """Bring the rest of an incident's open threads in line with it, a page per transaction.

    Each page takes the incident's row lock and re-reads its state, so a status change in between is
    honoured from the next page on (back up: the rest are thanked; down again: they get the news instead).
    Pages are idempotent (a resolved thread is no longer open; an updated one has no news left), so a
    redelivered or re-run job only repeats reads. Returns the pages handled.
    """
    planner: BulkPlanner | None = None
    after: int | None = 0
    held_until: datetime | None = None
    pages = 0
    while after is not None:
        with rt.unit_of_work() as session:
            incident = session.get(Incident, incident_id, with_for_update=row_locks(session))
            if incident is None or incident.threads_due_at is None:
                break
            if planner is None:
                planner = BulkPlanner(rt, now=rt.clock.now())  # one memo of renderings for every page
            planner.now = rt.clock.now()
            with rare_collections():
                page = _threads_page(
                    session, planner, incident, still_down=_still_down(session, incident), after=after, batch=BATCH
                )
            after = page.next_after
            held_until = _earlier(held_until, page.held_until)
            if after is None:
                incident.threads_due_at = held_until  # None, or when news held back may be told
            pages += 1
    return pages


def sync_overdue_threads(rt: Runtime) -> int:
    """The scheduler's step: incidents whose threads are due now (held-back news whose interval ended, or a
    big incident whose thread job looks lost)."""
    now = rt.clock.now()
    with rt.unit_of_work() as session:
        overdue = session.exec(
            select(Incident.id).where(col(Incident.threads_due_at) <= now).order_by(col(Incident.threads_due_at))
        ).all()
    return sum(sync_threads(rt, incident_id) for incident_id in overdue)


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


@dataclass(frozen=True)
class _Page:
    next_after: int | None  # the cursor for the next page; None when this was the last
    held_until: datetime | None = None  # the earliest moment news held back by UPDATE_EVERY may go


def _threads_page(
    session: Session,
    planner: BulkPlanner,
    incident: Incident,
    *,
    still_down: bool,
    after: int,
    batch: int,
) -> _Page:
    """Update or resolve one page of open threads after id `after`."""
    key = incident_subject_key(incident.id)
    page = situations_repo.open_about(session, subject_key=key, kind=KIND, after_id=after, limit=batch)
    if not page:
        return _Page(None)
    held_until = None
    if still_down:
        held_until = _update_page(session, planner, incident, key, page)
    else:
        _resolve_page(session, planner, incident, key, page)
    return _Page((page[-1].id or after) if len(page) == batch else None, held_until)


def _update_page(
    session: Session, planner: BulkPlanner, incident: Incident, key: str, page: list[Situation]
) -> datetime | None:
    """Tell the page's threads the news; returns when news held back for a thread told too lately may go."""
    due = [s for s in page if planner.now - s.updated_at >= UPDATE_EVERY]
    waiting = [
        s.updated_at + UPDATE_EVERY
        for s in page
        if planner.now - s.updated_at < UPDATE_EVERY and _news(s.details, incident)
    ]
    reasons = {s.id: _news(s.details, incident) for s in due}
    customers = _customers(session, [s.customer_id for s in due if reasons[s.id]])
    updates = [
        Update(situation=s, customer=customers[s.customer_id], reason=reason)
        for s in due
        if (reason := reasons[s.id]) is not None and s.customer_id in customers
    ]
    update_many(
        session,
        planner,
        updates=updates,
        subject_key=key,
        subject=Subject(incident=incident),
        details=_details(incident),
        drop_deferred="replaced by newer news before it was sent",
    )
    return min(waiting, default=None)


def _still_down(session: Session, incident: Incident) -> bool:
    for name in incident.components:
        other = session.get(Component, name)
        if other is not None and other.status in DOWN and other.incident_id == incident.id:
            return True
    return False


def _resolve_page(session: Session, planner: BulkPlanner, incident: Incident, key: str, page: list[Situation]) -> None:
    customers = _customers(session, [s.customer_id for s in page])
    resolve_many(
        session,
        planner,
        customers=[customers[s.customer_id] for s in page if s.customer_id in customers],
        subject_key=key,
        subject=Subject(incident=incident),
        reason="incident resolved",
        follow_up=True,
    )


def _customers(session: Session, ids: list[str]) -> dict[str, Subscriber]:
    return load_subscribers(session, ids)
