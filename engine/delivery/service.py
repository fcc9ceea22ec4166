"""Deliver notices at most once: claim a chunk, send each, record what the providers said.

One path for one notice or a fan-out's thousands: a delivery job (`notices.deliver_batch`) carries up to
QUEUE_BATCH ids and works through them in chunks of CLAIM_CHUNK — one transaction claims a chunk
(`engine.delivery.claim`), each claimed notice is handed to its channel outside any transaction with its
result written down as it goes (`engine.delivery.ledger`: one small transaction per message), and one
transaction records the chunk (`engine.delivery.record`: statuses, audit, what the provider said of the
address).

The crash window is one message per worker thread: the one in the provider's hands when the worker
stopped (handed over, result not yet written). The scheduler reconciles the rest
(`engine.delivery.reconcile`): results in the ledger are recorded, notices never handed over go back to
`pending`, and that one message is marked sent but unconfirmed — never sent again. A provider that keeps
failing opens its breaker (`engine.delivery.breaker`): the messages claimed meanwhile wait, attempts
untouched, instead of failing one by one.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from engine.delivery.breaker import breakers
from engine.delivery.channel import OutboundMessage, SendResult
from engine.delivery.claim import claim
from engine.delivery.ledger import Ledger
from engine.delivery.reconcile import hold_for_provider, settle
from engine.delivery.record import record
from engine.errors import TemplateError
from engine.models import Notice
from engine.notices import repository
from engine.preferences.unsubscribe import unsubscribe_url
from engine.runtime import Runtime
from engine.vocabulary import Channel

log = logging.getLogger(__name__)

# Notices claimed together: a crash leaves at most this many per worker thread unconfirmed in `sending`.
CLAIM_CHUNK = 25


def deliver(rt: Runtime, notice_ids: Sequence[int], *, jitter: bool = True) -> Counter[str]:
    """Deliver those of `notice_ids` that are pending and due, in order; returns how each one went
    (sent, failed, retrying, dropped, held, merged) and how many were skipped (already handled, not due,
    paused)."""
    report: Counter[str] = Counter()
    ids = list(dict.fromkeys(int(i) for i in notice_ids))  # a job's payload is JSON: no duplicates, keep order
    settle(rt, ids, report, jitter=jitter)  # this job ran before and its record step failed
    for start in range(0, len(ids), CLAIM_CHUNK):
        claimed = claim(rt, ids[start : start + CLAIM_CHUNK], report)
        if claimed is None:  # paused: everything left stays pending; the relay queues it after resume
            report["skipped"] += len(ids) - start
            break
        results = _send_each(rt, claimed, report)
        if results:
            record(rt, results, report, jitter=jitter)
    return report


def _send_each(rt: Runtime, claimed: list[Notice], report: Counter[str]) -> list[tuple[Notice, SendResult]]:
    """Hand each claimed notice to its provider, writing each result down as it goes; notices whose
    provider's breaker is open are put back to wait for it."""
    gates = breakers(rt)
    results: list[tuple[Notice, SendResult]] = []
    held: dict[str, list[tuple[Notice, datetime]]] = {}
    with Ledger(rt) as ledger:
        for notice in claimed:
            provider = rt.provider_of(notice.channel)
            wait = gates.admit(provider, now=rt.clock.now())
            if wait is not None:
                held.setdefault(provider, []).append((notice, wait))
                continue
            if not ledger.start(notice):  # the scheduler took the claim back meanwhile: someone else sends it
                report["skipped"] += 1
                continue
            result = send(rt, outbound_message(rt, notice))
            gates.report(provider, notice.id or 0, result, now=rt.clock.now())
            ledger.done(notice, result)
            results.append((notice, result))
        ledger.flush()
    for provider, waiting in held.items():
        report["waiting"] += hold_for_provider(rt, waiting, f"waiting: {provider} is not answering; tried again later")
    return results


def deliver_due(rt: Runtime, *, limit: int = 10_000, jitter: bool = True) -> int:
    """Deliver every pending notice that is due, in this thread (replay, demo, tests), as a worker would."""
    with rt.unit_of_work() as session:
        due = [n.id for n in repository.due_pending(session, now=rt.clock.now(), limit=limit) if n.id is not None]
    deliver(rt, due, jitter=jitter)
    return len(due)


def send(rt: Runtime, message: OutboundMessage) -> SendResult:
    """Hand one claimed message to its channel; whatever happens, a result comes back (never a raise)."""
    adapter = rt.channels.get(message.channel)
    if adapter is None:
        return SendResult.rejected(f"no {message.channel} channel is configured")
    try:
        return adapter.send(message)
    except TemplateError as exc:  # e.g. a header that would allow injection: never sendable
        return SendResult.rejected(f"message refused before sending: {exc}")
    except Exception as exc:  # a channel bug must not leave the notice claimed forever
        # The kind of error only: an adapter's exception message may quote the recipient or the text.
        log.error(
            "channel %s raised %s while sending notice %s", message.channel, type(exc).__name__, message.notice_id
        )
        return SendResult.transient(f"{type(exc).__name__} in channel")


def outbound_message(rt: Runtime, notice: Notice) -> OutboundMessage:
    """What the channel is handed for a claimed notice."""
    assert notice.id is not None
    email = notice.channel == Channel.EMAIL
    return OutboundMessage(
        notice_id=notice.id,
        channel=notice.channel,
        recipient=notice.recipient,
        body=notice.body,
        subject=notice.subject,
        html=notice.html,
        message_id=notice.message_id,
        in_reply_to=notice.in_reply_to,
        unsubscribe_url=unsubscribe_url(rt.settings, notice.customer_id) if email else None,
    )
