"""Plan many customers' notices about one subject at once: `plan_notices` for a fan-out.

The decisions and words are those of `engine.notices.planner` — consent and contactability
(`routes_for`), quiet hours for texts, the active template in the customer's language, the thread's
first email for `In-Reply-To`, "first text to this number", one audit entry per notice — and tests
hold the two paths to the same notices. What changes is the cost per customer:

- notice ids are allocated up front, so the Message-ID and the audit entry are made in one pass and
  every row goes in with one INSERT per batch (`engine.bulkdb`);
- templates are resolved once per batch and rendered through a `RenderMemo` (customers who share a
  first name, language and time zone share a rendering; each gets their own unsubscribe link);
- "has this number been texted before?" is one query per batch;
- notices due now are queued as `notices.deliver_batch` jobs of up to QUEUE_BATCH ids, after the
  batch's transaction commits, so 100,000 notices are a few hundred broker messages.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select, update

from engine.audit import Entry
from engine.bulkdb import allocate_ids, insert_rows, table_of
from engine.clock import format_instant
from engine.compose.context import build_context
from engine.compose.memo import RenderMemo
from engine.compose.store import ResolvedTemplate
from engine.errors import TemplateError
from engine.models import Notice, NoticeStatus
from engine.notices.batch_delivery import DELIVER_BATCH_ACTOR, QUEUE_BATCH
from engine.notices.planner import Subject, message_id_for, suppressed_entries
from engine.notices.repository import LIVE
from engine.notices.threading import reply_subject
from engine.policy.channels import Route, Routing, routes_for
from engine.policy.quiet_hours import defer
from engine.runtime import Runtime, enqueue_after_commit
from engine.state.subscriptions import Subscriber
from engine.suppressions import service as suppressions
from engine.unsubscribe import unsubscribe_url

WARNING_STAGES = ("initial", "update")
# UNSELECTIVE: a fan-out's own rows make `thread_key`, `subject_key` and `status` the least selective
# columns there are, and the planner only learns so at the next ANALYZE. Queries here therefore filter in
# SQL on customer ids, recipients or primary keys alone and apply those conditions in Python: combined in
# SQL, a stale estimate picks a bitmap AND over every row of the incident, in each batch of the fan-out.


_instant = lru_cache(maxsize=1024)(format_instant)


@dataclass
class ThreadNotice:
    """What planning needs to know of a notice already in the customer's thread."""

    id: int
    stage: str
    channel: str
    status: str
    message_id: str | None
    deferred: bool
    subject: str | None = None  # an email's subject: follow-ups answer it ("Re: …")


@dataclass(frozen=True)
class SituationRow:
    """The situation a notice belongs to (what the notice row and the template context read of it)."""

    id: int
    kind: str
    subject_key: str
    order_id: str | None
    incident_id: str | None
    opened_at: datetime


@dataclass(frozen=True)
class PlanRequest:
    customer: Subscriber
    situation: SituationRow
    stage: str
    thread: Sequence[ThreadNotice] = ()
    only_channels: frozenset[str] | None = None


def load_threads(session: Session, *, thread_key: str, customer_ids: Collection[str]) -> dict[str, list[ThreadNotice]]:
    """Each customer's notices in the thread, oldest first (one query)."""
    threads: dict[str, list[ThreadNotice]] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return threads
    t = table_of(Notice).c
    rows = session.execute(
        select_columns(
            t.id, t.customer_id, t.thread_key, t.stage, t.channel, t.status, t.message_id, t.deferred, t.subject
        )
        .where(t.customer_id.in_(list(customer_ids)))  # see UNSELECTIVE
        .order_by(t.id)
    ).all()
    for notice_id, customer_id, key, stage, channel, status, message_id, deferred, subject in rows:
        if key == thread_key:
            threads[customer_id].append(ThreadNotice(notice_id, stage, channel, status, message_id, deferred, subject))
    return threads


def told_in(thread: Sequence[ThreadNotice]) -> bool:
    """Whether a warning in this thread is out or on its way (the next warning is then an `update`)."""
    return any(n.stage in WARNING_STAGES and n.status in LIVE for n in thread)


def dropped(notices: Sequence[ThreadNotice], *, at: datetime, reason: str) -> list[Entry]:
    """`drop_notice`'s audit entries for these notices (marked dropped here); `mark_dropped` writes them."""
    entries = []
    for notice in notices:
        notice.status = NoticeStatus.DROPPED
        entries.append(
            Entry(
                at=at,
                actor="system",
                action="notice.dropped",
                subject=f"notice:{notice.id}",
                details={"channel": notice.channel, "stage": notice.stage, "reason": reason[:500]},
            )
        )
    return entries


def mark_dropped(session: Session, notices: Sequence[ThreadNotice], *, reason: str) -> None:
    """One UPDATE dropping all of `notices` for the same reason."""
    if notices:
        session.execute(
            update(Notice)
            .where(col(Notice.id).in_([n.id for n in notices]))
            .values(status=NoticeStatus.DROPPED, status_reason=reason[:500])
        )


def texted_before(session: Session, numbers: Collection[str]) -> set[str]:
    """The numbers among `numbers` that already have a live text (pending, sending or sent)."""
    if not numbers:
        return set()
    rows = session.exec(
        select(Notice.recipient, Notice.channel, Notice.status).where(col(Notice.recipient).in_(list(numbers)))
    ).all()  # see UNSELECTIVE
    return {recipient for recipient, channel, status in rows if channel == "sms" and status in LIVE}


@dataclass
class Planned:
    """A batch's notices, ready to write: the rows, the ids to queue now, each request's audit entries."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    queue: list[int] = field(default_factory=list)
    entries: list[list[Entry]] = field(default_factory=list)


def write_notices(session: Session, planned: Planned) -> None:
    """Insert the rows and queue those due now, in jobs sent once the transaction commits."""
    insert_rows(session, Notice, planned.rows)
    for start in range(0, len(planned.queue), QUEUE_BATCH):
        enqueue_after_commit(session, DELIVER_BATCH_ACTOR, planned.queue[start : start + QUEUE_BATCH])


class BulkPlanner:
    """Plans notices for one fan-out, batch after batch; `plan` then `write` inside each transaction."""

    def __init__(self, rt: Runtime, *, now: datetime) -> None:
        self.rt = rt
        self.now = now
        self.memo = RenderMemo()
        self._templates: dict[tuple[str, str, str, str], ResolvedTemplate | TemplateError] = {}
        # Numbers this fan-out has planned a text to: a batch written by another thread may not have
        # committed yet when the next one asks the database.
        self._texted: set[str] = set()

    def plan(self, session: Session, requests: Sequence[PlanRequest], *, subject: Subject) -> Planned:
        """Compose each request's notices (rows and, per request, audit entries, in `requests` order).

        Nothing is written: `write_notices` does, after the situations the rows refer to.
        """
        self._templates.clear()  # a template saved meanwhile applies from the next batch on
        planned = Planned()
        routed: list[tuple[Routing, list[Route]]] = []
        # The suppression list (STOP, dead mailboxes) for the whole batch in one query.
        suppressed = suppressions.for_subscribers(session, [request.customer for request in requests])
        for request in requests:
            mine = suppressed.get(request.customer.id, {})
            routing = routes_for(request.customer, {ch: suppressions.describe(row) for ch, row in mine.items()})
            only = request.only_channels
            routed.append((routing, [r for r in routing.routes if only is None or r.channel in only]))
        ids = iter(allocate_ids(session, Notice, sum(len(routes) for _, routes in routed)))
        numbers = {r.recipient for _, routes in routed for r in routes if r.channel == "sms"}
        texted = texted_before(session, numbers) | (numbers & self._texted)
        for request, (routing, routes) in zip(requests, routed, strict=True):
            skipped = suppressed_entries(
                at=self.now,
                situation_id=request.situation.id,
                stage=request.stage,
                customer_id=request.customer.id,
                routing=routing,
                routed=bool(routes),
                suppressed=suppressed.get(request.customer.id, {}),
                only_channels=request.only_channels,
            )
            if not routes:
                planned.entries.append(skipped)
                continue
            first_email = next((n for n in request.thread if n.channel == "email" and n.message_id), None)
            in_reply_to = first_email.message_id if first_email else None
            thread_subject = first_email.subject if first_email else None
            planned.entries.append(
                skipped
                + [
                    self._compose(
                        session, planned, request, route, next(ids), subject, texted, in_reply_to, thread_subject
                    )
                    for route in routes
                ]
            )
        self._texted |= texted & numbers
        return planned

    def _template(self, session: Session, *, kind: str, stage: str, channel: str, locale: str) -> ResolvedTemplate:
        key = (kind, stage, channel, locale)
        found = self._templates.get(key)
        if found is None:
            try:
                found = self.rt.templates.resolve(
                    session,
                    situation=kind,
                    stage=stage,
                    channel="sms" if channel == "sms" else "email",
                    locale=locale,
                )
            except TemplateError as exc:
                found = exc
            self._templates[key] = found
        if isinstance(found, TemplateError):
            raise found
        return found

    def _compose(
        self,
        session: Session,
        planned: Planned,
        request: PlanRequest,
        route: Route,
        notice_id: int,
        subject: Subject,
        texted: set[str],
        in_reply_to: str | None,
        thread_subject: str | None,
    ) -> Entry:
        settings, now = self.rt.settings, self.now
        customer, situation, stage, channel = request.customer, request.situation, request.stage, route.channel
        send_at = now
        if channel == "sms":
            send_at = defer(now, timezone=customer.timezone, window=customer.quiet_hours or settings.quiet_hours)
        row: dict[str, Any] = {
            "id": notice_id,
            "situation_id": situation.id,
            "customer_id": customer.id,
            "order_id": situation.order_id,
            "incident_id": situation.incident_id,
            "thread_key": situation.subject_key,
            "situation": situation.kind,
            "stage": stage,
            "channel": channel,
            "recipient": route.recipient,
            "locale": customer.locale,
            "template": "",
            "subject": None,
            "body": "",
            "html": None,
            "message_id": None,
            "in_reply_to": in_reply_to,
            "status": NoticeStatus.PENDING,
            "status_reason": None,
            "send_at": send_at,
            "deferred": send_at > now,
            "enqueued_at": None,
            "claimed_at": None,
            "sent_at": None,
            "provider_id": None,
            "attempts": 0,
            "created_at": now,
        }
        try:
            resolved = self._template(
                session, kind=situation.kind, stage=stage, channel=channel, locale=customer.locale
            )
            context = build_context(
                settings=settings,
                customer=customer,
                situation=situation,
                stage=stage,
                locale=resolved.locale,
                now=send_at,  # worded for when it is read (a text held for quiet hours: the morning)
                order=subject.order,
                shipment=subject.shipment,
                incident=subject.incident,
                first_sms=channel == "sms" and route.recipient not in texted,
                unsubscribe_url=unsubscribe_url(settings, customer.id) if channel == "email" else None,
            )
            rendered = self.memo.render(
                resolved.sources, context, channel=channel, locale=resolved.locale, timezone=customer.timezone
            )
            row.update(
                template=resolved.label,
                locale=resolved.locale,
                subject=rendered.subject,
                body=rendered.text,
                html=rendered.html,
            )
            if channel == "email" and in_reply_to and thread_subject:
                row["subject"] = reply_subject(thread_subject)[:500]  # same conversation in every mail client
        except TemplateError as exc:
            # Nothing is lost: the failure is on the row for staff to see, fix and resend.
            row["status"], row["status_reason"] = NoticeStatus.FAILED, f"template error: {exc}"[:500]
        if channel == "email":
            row["message_id"] = message_id_for(
                settings, notice_id=notice_id, thread_key=situation.subject_key, customer_id=customer.id
            )
        pending = row["status"] == NoticeStatus.PENDING
        if pending and channel == "sms":
            texted.add(route.recipient)  # the next customer sharing this number gets no "reply STOP" again
        if pending and not row["deferred"]:
            row["enqueued_at"] = now
            planned.queue.append(notice_id)
        planned.rows.append(row)
        return Entry(
            at=now,
            actor="system",
            action="notice.failed" if not pending else ("notice.deferred" if row["deferred"] else "notice.planned"),
            subject=f"notice:{notice_id}",
            details={
                "situation": situation.kind,
                "stage": stage,
                "channel": channel,
                "customer_id": customer.id,
                "send_at": _instant(send_at),  # what the audit log stores for it anyway, formatted once per value
                "template": row["template"],
                "reason": row["status_reason"] or ("recipient's quiet hours" if row["deferred"] else None),
            },
        )
