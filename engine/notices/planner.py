"""Turn a situation's new stage into notice rows — for one customer or a fan-out's thousands, one path.

Per request: consent and contactability (`routes_for`, the suppression list), quiet hours for texts,
the active template in the customer's language, the thread's first email for `In-Reply-To`, "first
text to this number", one audit entry per notice (and one per channel skipped for a suppression).
A single customer is a batch of one; what batching changes is only the cost per customer:

- notice ids are allocated up front, so the Message-ID and the audit entry are made in one pass and
  every row goes in with one INSERT (one COPY on PostgreSQL) per batch (`engine.db.bulk`);
- templates are resolved once per batch and rendered through one memo (`Composer`);
- the suppression list and "has this number been texted before?" are one query per batch;
- notices due now are queued as delivery jobs of many ids once the transaction commits.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlmodel import Session, col, update

from engine.audit import Entry
from engine.care import desk
from engine.care import tasks as care_tasks
from engine.clock import format_instant
from engine.config import Settings
from engine.db.bulk import allocate_ids, insert_rows
from engine.errors import TemplateError
from engine.models import ChannelSuppression, Notice, Situation
from engine.models.customers import Recipient
from engine.notices.composer import Composer, Subject
from engine.notices.outbox import queue_for_delivery
from engine.notices.repository import texted_numbers
from engine.notices.threads import Thread, ThreadNotice, first_email, last_sent, warned_since
from engine.policy.channels import Route, Routing, routes_for
from engine.policy.quiet_hours import defer
from engine.promises.choose import choose, promises
from engine.promises.expect import likely_delivery
from engine.runtime import Runtime
from engine.suppressions import service as suppressions
from engine.vocabulary import Channel, NoticeStatus, SituationKind, Stage

_instant = lru_cache(maxsize=1024)(format_instant)


@dataclass(frozen=True)
class SituationRow:
    """The situation a notice belongs to (what the notice row and the template context read of it)."""

    id: int
    kind: SituationKind
    subject_key: str
    order_id: str | None
    incident_id: str | None
    opened_at: datetime
    # What the customer was last told of it (the situation's details before this change; None when new):
    # "it has got worse" is judged against it.
    told: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)

    @classmethod
    def of(cls, situation: Situation) -> SituationRow:
        assert situation.id is not None
        return cls(
            situation.id,
            situation.kind,
            situation.subject_key,
            situation.order_id,
            situation.incident_id,
            situation.opened_at,
            dict(situation.details),
        )


@dataclass(frozen=True)
class PlanRequest:
    customer: Recipient
    situation: SituationRow
    stage: Stage
    thread: Thread = ()
    only_channels: frozenset[Channel] | None = None
    # When the message says we'll write again by; None: the planner chooses it for a warning
    # (engine/promises/choose.py).
    next_update_at: datetime | None = None
    promise_not_before: datetime | None = None  # the daily limit lets the thread's next message go then
    check_in: bool = False  # an `update` with no news that keeps the thread's promise (engine/promises/keep.py)


@dataclass
class Planned:
    """A batch's notices, ready to write: the rows, the ids to queue now, each request's audit entries."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    queue: list[int] = field(default_factory=list)
    entries: list[list[Entry]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)  # care tasks the batch opens (engine.care)
    promised: dict[int, datetime] = field(default_factory=dict)  # situation id → the promise its notices made


def write_notices(session: Session, planned: Planned) -> None:
    """Insert the rows, record each thread's new promise on its situation, and queue those due now, in jobs
    sent once the transaction commits."""
    care_tasks.write_opened(session, planned.tasks)
    insert_rows(session, Notice, planned.rows)
    by_promise: dict[datetime, list[int]] = defaultdict(list)
    for situation_id, promise in planned.promised.items():
        by_promise[promise].append(situation_id)
    for promise, ids in by_promise.items():  # a fan-out's thousands share a few promises: one UPDATE each
        session.execute(update(Situation).where(col(Situation.id).in_(ids)).values(next_update_at=promise))
    queue_for_delivery(session, planned.queue)


class Planner:
    """Plans notices batch after batch (one fan-out, or one event's warning); `plan`, then `write_notices`
    after the situations the rows refer to, inside each transaction."""

    def __init__(self, rt: Runtime, *, now: datetime) -> None:
        self.rt = rt
        self.now = now
        self.composer = Composer(rt)
        # Numbers this planner has planned a text to: a batch written by another thread (a fan-out's
        # writer) may not have committed yet when the next one asks the database.
        self._texted: set[str] = set()

    def plan(
        self,
        session: Session,
        requests: Sequence[PlanRequest],
        *,
        subject: Subject,
        not_texted_by: Collection[int] = (),
    ) -> Planned:
        """Compose each request's notices (rows and, per request, audit entries, in `requests` order).

        `not_texted_by`: pending texts that do not count as an earlier text to their number (the batch
        drops them), for the STOP line on the first text.
        """
        self.composer.forget_templates()
        planned = Planned()
        suppressed = suppressions.for_subscribers(session, [request.customer for request in requests])
        routed: list[tuple[Routing, list[Route]]] = []
        for request in requests:
            mine = suppressed.get(request.customer.id, {})
            routing = routes_for(request.customer, {ch: suppressions.describe(row) for ch, row in mine.items()})
            only = request.only_channels
            routed.append((routing, [r for r in routing.routes if only is None or r.channel in only]))
        ids = iter(allocate_ids(session, Notice, sum(len(routes) for _, routes in routed)))
        likely = likely_delivery(session, self.rt, subject.shipment, now=self.now)
        numbers = {r.recipient for _, routes in routed for r in routes if r.channel == Channel.SMS}
        texted = texted_numbers(session, numbers, excluding=not_texted_by) | (numbers & self._texted)
        cared = desk.prepare(session, requests, settings=self.rt.settings, shipment=subject.shipment, now=self.now)
        planned.tasks.extend(cared.tasks)
        for request, (routing, routes) in zip(requests, routed, strict=True):
            skipped = suppressed_entries(
                at=self.now,
                request=request,
                routing=routing,
                routed=bool(routes),
                suppressed=suppressed.get(request.customer.id, {}),
            )
            first = first_email(request.thread)
            care = cared.care.get(request.situation.id)
            if routes and request.next_update_at is None and promises(request.stage):
                request = replace(request, next_update_at=self._promise(request, routes, subject, likely))
            if routes and request.next_update_at is not None:
                planned.promised[request.situation.id] = request.next_update_at
            planned.entries.append(
                cared.entries.pop(request.situation.id, [])
                + skipped
                + [
                    self._compose(session, planned, request, route, next(ids), subject, texted, first, care)
                    for route in routes
                ]
            )
        self._texted |= texted & numbers
        return planned

    def _send_at(self, request: PlanRequest, channel: Channel) -> datetime:
        """When a notice planned now goes out on `channel`: a text waits out the customer's quiet hours."""
        if channel != Channel.SMS:
            return self.now
        customer = request.customer
        return defer(self.now, timezone=customer.timezone, window=customer.quiet_hours or self.rt.settings.quiet_hours)

    def _promise(
        self, request: PlanRequest, routes: Sequence[Route], subject: Subject, likely: datetime | None
    ) -> datetime:
        """When this warning says the customer will hear again by: after its last channel's message."""
        customer, situation = request.customer, request.situation
        shipment = subject.shipment
        # Going on since the parcel left, or the customer was first warned, whatever it is called now.
        since = [situation.opened_at, warned_since(request.thread), shipment.handed_over_at if shipment else None]
        after = max(self._send_at(request, route.channel) for route in routes)
        quiet_since = last_sent(request.thread) if request.check_in else None
        return choose(
            kind=situation.kind,
            opened_at=min(t for t in since if t is not None),
            after=after,
            timezone=customer.timezone,
            quiet=customer.quiet_hours or self.rt.settings.quiet_hours,
            estimate=shipment.estimated_delivery_at if shipment is not None else None,
            likely=likely,
            due=subject.order.promised_by if subject.order is not None else None,
            earliest=request.promise_not_before,
            silence=after - quiet_since if quiet_since is not None else None,
        )

    def _compose(
        self,
        session: Session,
        planned: Planned,
        request: PlanRequest,
        route: Route,
        notice_id: int,
        subject: Subject,
        texted: set[str],
        first: ThreadNotice | None,
        care: desk.Care | None,
    ) -> Entry:
        settings, now = self.rt.settings, self.now
        customer, situation, channel = request.customer, request.situation, route.channel
        send_at = self._send_at(request, channel)
        row = _notice_row(notice_id, request, route, send_at=send_at, now=now)
        row["in_reply_to"] = first.message_id if first else None
        first_sms = channel == Channel.SMS and route.recipient not in texted
        self._word(
            session, row, request, channel, subject, first_sms=first_sms, first=first, send_at=send_at, care=care
        )
        if channel == Channel.EMAIL:
            row["message_id"] = message_id_for(
                settings, notice_id=notice_id, thread_key=situation.subject_key, customer_id=customer.id
            )
        pending = row["status"] == NoticeStatus.PENDING
        if pending and channel == Channel.SMS:
            texted.add(route.recipient)  # the next customer sharing this number gets no "reply STOP" again
        if pending and not row["deferred"]:
            row["enqueued_at"] = now
            planned.queue.append(notice_id)
        planned.rows.append(row)
        return _planned_entry(row, now=now)

    def _word(
        self,
        session: Session,
        row: dict[str, Any],
        request: PlanRequest,
        channel: Channel,
        subject: Subject,
        *,
        first_sms: bool,
        first: ThreadNotice | None,
        send_at: datetime,
        care: desk.Care | None = None,
    ) -> None:
        """Put the notice's words on its row, or the template's failure: nothing is lost, the failure is on
        the row for staff to see, fix and resend."""
        try:
            composed = self.composer.compose(
                session,
                kind=request.situation.kind,
                stage=request.stage,
                channel=channel,
                customer=request.customer,
                situation=request.situation,
                subject=subject,
                now=send_at,  # worded for when it is read (a text held for quiet hours: the morning)
                first_sms=first_sms,
                next_update_at=request.next_update_at,
                care=care,
                check_in=request.check_in,
            )
        except TemplateError as exc:
            row["status"], row["status_reason"] = NoticeStatus.FAILED, f"template error: {exc}"[:500]
            return
        row.update(
            template=composed.template,
            template_version_id=composed.template_version_id,
            locale=composed.locale,
            subject=composed.subject,
            body=composed.body,
            html=composed.html,
        )


def _planned_entry(row: dict[str, Any], *, now: datetime) -> Entry:
    """The notice's audit entry: planned, deferred for quiet hours, or failed (its template)."""
    pending, deferred = row["status"] == NoticeStatus.PENDING, row["deferred"]
    return Entry(
        at=now,
        actor="system",
        action="notice.failed" if not pending else ("notice.deferred" if deferred else "notice.planned"),
        subject=f"notice:{row['id']}",
        details={
            "situation": row["situation"],
            "stage": row["stage"],
            "channel": row["channel"],
            "customer_id": row["customer_id"],
            "send_at": _instant(row["send_at"]),  # what the audit log stores for it anyway, formatted once
            "template": row["template"],
            "reason": row["status_reason"] or ("recipient's quiet hours" if deferred else None),
        },
    )


def _notice_row(
    notice_id: int, request: PlanRequest, route: Route, *, send_at: datetime, now: datetime
) -> dict[str, Any]:
    """A pending notice's row before its words are composed (every column: one COPY takes them all)."""
    situation = request.situation
    return {
        "id": notice_id,
        "situation_id": situation.id,
        "customer_id": request.customer.id,
        "order_id": situation.order_id,
        "incident_id": situation.incident_id,
        "thread_key": situation.subject_key,
        "situation": situation.kind,
        "stage": request.stage,
        "channel": route.channel,
        "recipient": route.recipient,
        "locale": request.customer.locale,
        "template": "",
        "template_version_id": None,
        "subject": None,
        "body": "",
        "html": None,
        "message_id": None,
        "in_reply_to": None,
        "status": NoticeStatus.PENDING,
        "status_reason": None,
        "send_at": send_at,
        "deferred": send_at > now,
        "enqueued_at": None,
        "claimed_at": None,
        "attempted_at": None,
        "sent_at": None,
        "provider_id": None,
        "attempts": 0,
        "merged_into": None,
        "created_at": now,
        "next_update_at": request.next_update_at,
    }


def suppressed_entries(
    *,
    at: datetime,
    request: PlanRequest,
    routing: Routing,
    routed: bool,
    suppressed: Mapping[Channel, ChannelSuppression],
) -> list[Entry]:
    """The `notice.suppressed` audit entries for one customer and stage.

    With no channel left (`routed` false), one entry says why none goes. Otherwise the other channels
    still go, and each channel skipped for a suppression gets an entry, so staff can see why on the
    timeline. The action, subject and details keys are the audit log format staff rely on.
    """

    def entry(**details: object) -> Entry:
        return Entry(
            at=at,
            actor="system",
            action="notice.suppressed",
            subject=f"situation:{request.situation.id}",
            details={"stage": request.stage, "customer_id": request.customer.id, **details},
        )

    if not routed:
        return [entry(reason="; ".join(routing.skipped.values()) or "customer consented to no channel we use")]
    only = request.only_channels
    return [
        entry(channel=channel, reason=routing.skipped.get(channel, suppressions.describe(row)), suppression_id=row.id)
        for channel, row in suppressed.items()
        if only is None or channel in only
    ]


def message_id_for(settings: Settings, *, notice_id: int, thread_key: str, customer_id: str) -> str:
    """The Message-ID an email notice goes out with."""
    sender = settings.email_from
    domain = sender.rsplit("@", 1)[-1].strip("> ") if "@" in sender else "localhost"
    token = hashlib.sha256(f"{thread_key}:{customer_id}".encode()).hexdigest()[:12]
    return f"notice-{notice_id}.{token}@{domain}"
