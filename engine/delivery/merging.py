"""Merging: warnings due to one customer on one channel at once, with fewer daily slots left than
warnings, go out as one message (FOREWARN_MAX_NOTICES_PER_DAY; the decision is `engine/notices/capping.py`).

- Warnings of **one thread** (an order's initial and its update, both held): the newest news goes, at
  the earliest stage (the customer never heard the first), rendered again as of now.
- Warnings of **several threads**: a new digest notice (situation `digest`, stage `merged`) names every
  order and incident in it.

Each original becomes `merged` with `merged_into` pointing at the notice that carried it, audited
`notice.merged`; a thread counts as told (or warned, for its follow-up) when that carrier went out.
A warning whose problem was fixed meanwhile is dropped rather than merged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from engine.delivery.digest import render_digest
from engine.errors import TemplateError
from engine.models import Customer, Notice, Situation
from engine.notices import repository
from engine.notices.composer import Composer
from engine.notices.journal import drop_notice, log_notice
from engine.notices.planner import message_id_for
from engine.runtime import Runtime
from engine.situations import repository as situations_repo
from engine.vocabulary import Channel, NoticeStatus, SituationKind, SituationStatus, Stage

log = logging.getLogger(__name__)

DIGEST_THREAD = "digest"  # digests carry several threads; none of the per-order or per-incident ones
FIXED = "the problem was fixed before this was sent"


def candidates(session: Session, notice: Notice, *, now: datetime) -> list[Notice]:
    """Warnings to the same customer and address on the same channel that are due now, oldest first.

    Only notices never attempted: a retry keeps its own message (and merging stays one level deep).
    Locked on PostgreSQL; the caller holds the customer's row lock, so one claim decides at a time.
    """
    return repository.merge_candidates_with(session, notice, now=now)


def merge(session: Session, rt: Runtime, notices: Sequence[Notice], *, now: datetime) -> Notice | None:
    """Combine due warnings into the one notice that goes out now and return it; None when, once the
    fixed problems are dropped, at most one is left (nothing to merge).

    A digest whose template fails comes back `failed` with the error (its originals merged into it),
    like any notice the planner could not render: nothing is lost, staff see it and can resend.
    """
    customer = session.get(Customer, notices[0].customer_id)
    assert customer is not None
    situations = _situations(session, notices)
    live: list[Notice] = []
    for notice in notices:
        situation = situations.get(notice.situation_id)
        if situation is None or situation.status == SituationStatus.RESOLVED:
            drop_notice(session, notice, at=now, reason=FIXED)
        else:
            live.append(notice)
    if len(live) <= 1:
        return None
    threads: dict[str, list[Notice]] = {}
    for notice in live:
        threads.setdefault(notice.thread_key, []).append(notice)
    groups = list(threads.values())
    ids = [n.id for n in live if n.id is not None]
    if len(groups) == 1:
        carrier = _coalesce(session, rt, groups[0], customer=customer, situations=situations, now=now, ids=ids)
    else:
        carrier = _digest(session, rt, groups, customer=customer, situations=situations, now=now, ids=ids)
    for notice in live:
        if notice is carrier:
            continue
        notice.status, notice.merged_into = NoticeStatus.MERGED, carrier.id
        notice.status_reason = f"merged into notice {carrier.id}: more news than the daily limit allows"
        log_notice(
            session,
            notice,
            "notice.merged",
            at=now,
            merged_into=carrier.id,
            customer_id=notice.customer_id,
            reason="daily limit: several notices due at once, fewer slots left",
        )
    return carrier


def refresh(session: Session, rt: Runtime, notice: Notice, *, now: datetime) -> None:
    """Render a notice again as of now (it waited for hours: "tomorrow" may be today by now).

    When the template fails now, the message rendered when it was planned still goes out.
    """
    situation = session.get(Situation, notice.situation_id)
    customer = session.get(Customer, notice.customer_id)
    if situation is None or customer is None:
        return
    not_texted_by = [notice.id] if notice.id is not None else []
    if not _word_again(session, rt, notice, situation, customer, now, not_texted_by):
        log.warning("notice %s: rendering again failed; sending what was planned", notice.id)


def carried(session: Session, notice: Notice) -> list[Notice]:
    """The news a notice carried: a digest's originals (newest per thread), else the notice itself."""
    if notice.situation != SituationKind.DIGEST or notice.id is None:
        return [notice]
    newest: dict[str, Notice] = {}
    for original in repository.merged_into(session, notice.id):
        newest[original.thread_key] = original
    return list(newest.values())


def all_fixed(session: Session, digest: Notice) -> bool:
    """Every problem a pending digest tells about has been fixed since it was merged."""
    originals = repository.merged_into(session, digest.id) if digest.id is not None else []
    situations = _situations(session, originals)
    return bool(originals) and all(
        (s := situations.get(n.situation_id)) is None or s.status == SituationStatus.RESOLVED for n in originals
    )


def _coalesce(
    session: Session,
    rt: Runtime,
    group: list[Notice],
    *,
    customer: Customer,
    situations: dict[int, Situation],
    now: datetime,
    ids: list[int],
) -> Notice:
    first, carrier = group[0], group[-1]
    situation = situations[carrier.situation_id]
    before = (carrier.stage, carrier.in_reply_to)
    # The customer heard none of these: the message opens the thread (or answers what the first answered).
    carrier.stage, carrier.in_reply_to = first.stage, first.in_reply_to
    if not _word_again(session, rt, carrier, situation, customer, now, ids):
        log.warning("notice %s: rendering the merged message failed; sending the newest", carrier.id)
        carrier.stage, carrier.in_reply_to = before
    return carrier


def _digest(
    session: Session,
    rt: Runtime,
    groups: list[list[Notice]],
    *,
    customer: Customer,
    situations: dict[int, Situation],
    now: datetime,
    ids: list[int],
) -> Notice:
    lead = groups[0][0]
    digest = Notice(
        situation_id=lead.situation_id,
        customer_id=lead.customer_id,
        thread_key=DIGEST_THREAD,
        situation=SituationKind.DIGEST,
        stage=Stage.MERGED,
        channel=lead.channel,
        recipient=lead.recipient,
        locale=customer.locale,
        template="",
        body="",
        # When the news was due (a text's time already respects quiet hours), not when a worker got to it.
        send_at=max(n.send_at for group in groups for n in group),
        created_at=now,
    )
    try:
        render_digest(
            session, rt, digest, customer=customer, threads=groups, situations=situations, now=now, not_texted_by=ids
        )
    except TemplateError as exc:
        digest.status, digest.status_reason = NoticeStatus.FAILED, f"template error: {exc}"[:500]
    session.add(digest)
    session.flush()
    if digest.channel == Channel.EMAIL:
        digest.message_id = message_id_for(
            rt.settings, notice_id=digest.id or 0, thread_key=digest.thread_key, customer_id=digest.customer_id
        )
    log_notice(
        session,
        digest,
        "notice.failed" if digest.status == NoticeStatus.FAILED else "notice.planned",
        at=now,
        situation=SituationKind.DIGEST,
        customer_id=digest.customer_id,
        send_at=digest.send_at,
        template=digest.template,
        merges=ids,
        threads=[group[0].thread_key for group in groups],
        reason=digest.status_reason,
    )
    return digest


def _word_again(
    session: Session,
    rt: Runtime,
    notice: Notice,
    situation: Situation,
    customer: Customer,
    now: datetime,
    not_texted_by: list[int],
) -> bool:
    """Word `notice` again as of `now`; False (the notice as it was, the reason logged) if its template fails."""
    try:
        Composer(rt).recompose(
            session,
            notice,
            situation=situation,
            customer=customer,
            now=now,
            not_texted_by=not_texted_by,
        )
    except TemplateError as exc:
        log.warning("notice %s: template failed: %s", notice.id, exc)
        return False
    return True


def _situations(session: Session, notices: Sequence[Notice]) -> dict[int, Situation]:
    return situations_repo.by_ids(session, {n.situation_id for n in notices})
