"""The helpdesk webhook: each care task's opening and closing POSTed to `FOREWARN_TASK_WEBHOOK_URL`, signed
per Standard Webhooks (the scheme the events feed verifies inbound, `integrations.feeds.standard_webhooks`).

Queued after the commit that opened or closed the task (`queue`), sent by a worker (`send`): a 5xx, a 408
or 429, a timeout or a refused connection raises `HelpdeskUnavailable` and dramatiq retries the job with
backoff; any other 4xx is the helpdesk refusing this message for good, logged and dropped. The `webhook-id`
is the same on every attempt, so a helpdesk that saw an attempt whose answer was lost can drop the repeat.

The body holds what a person at the helpdesk needs to act and no more: the task's id, kind, reason and
status, the order and customer ids, and the order's status page (the customer's words and contact details
stay with us). Nothing here logs the URL (it may carry the helpdesk's token) or the body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from typing import Any, Literal

import httpx
from sqlmodel import Session

from engine.clock import format_instant
from engine.config import Settings
from engine.links.build import status_url
from engine.links.tokens import Page
from engine.models import CareTask, Situation
from engine.runtime import SETTINGS_KEY, Runtime, enqueue_after_commit
from engine.vocabulary import Job
from integrations.feeds.standard_webhooks import sign

log = logging.getLogger(__name__)

Event = Literal["opened", "closed"]
TIMEOUT_SECONDS = 10.0
_RETRIED_4XX = frozenset({408, 429})  # "try again later", not "this message is wrong"


class HelpdeskUnavailable(Exception):
    """The helpdesk did not take the message this time; raised so that the job is retried."""


def queue(session: Session, task_ids: list[int], event: Event) -> None:
    """Ask for each task's message once this transaction commits, when a helpdesk is configured (a
    deployment without one queues nothing; the job also checks, for jobs queued before a change)."""
    settings = session.info.get(SETTINGS_KEY)
    if not isinstance(settings, Settings) or not settings.task_webhook_url:
        return
    for task_id in task_ids:
        enqueue_after_commit(session, Job.CARE_TASK_WEBHOOK, task_id, event)


def signing_secret(settings: Settings) -> str:
    """FOREWARN_TASK_WEBHOOK_SECRET, or (unset) a whsec_ key derived from FOREWARN_SECRET_KEY, which
    `forewarn tasks webhook-secret` prints for the helpdesk's side."""
    if settings.task_webhook_secret:
        return settings.task_webhook_secret
    derived = hmac.new(settings.secret_key.encode(), b"forewarn:care-task-webhook", hashlib.sha256).digest()
    return "whsec_" + base64.b64encode(derived).decode()


def payload(task: CareTask, kind: str | None, event: Event, settings: Settings) -> dict[str, Any]:
    page = status_url(settings.public_url, settings.secret_key, Page.ORDER, task.order_id) if task.order_id else None
    return {
        "type": f"care_task.{event}",
        "timestamp": format_instant(task.closed_at if event == "closed" and task.closed_at else task.opened_at),
        "data": {
            "id": task.id,
            "kind": kind,  # the situation's kind: shipment.stalled, shipment.exception, order.delayed, …
            "reason": task.reason,  # stalled, lost, damaged, repeat
            "status": task.status,  # now, which may already be past this event
            "order_id": task.order_id,
            "customer_id": task.customer_id,
            "status_page": page,
            "opened_at": format_instant(task.opened_at),
            "closed_at": format_instant(task.closed_at) if task.closed_at else None,
        },
    }


def send(rt: Runtime, task_id: int, event: Event) -> None:
    """One attempt (the job); raises HelpdeskUnavailable to be retried."""
    settings = rt.settings
    if not settings.task_webhook_url:
        return
    with Session(rt.db) as session:
        task = session.get(CareTask, task_id)
        situation = session.get(Situation, task.situation_id) if task is not None else None
    if task is None:
        return  # no such row: nothing to tell
    body = json.dumps(payload(task, situation.kind if situation else None, event, settings)).encode()
    msg_id = f"msg_care_task_{task_id}_{event}"
    stamp = int(rt.clock.now().timestamp())
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(signing_secret(settings), msg_id=msg_id, timestamp=stamp, body=body),
    }
    try:
        response = httpx.post(
            settings.task_webhook_url, content=body, headers=headers, timeout=TIMEOUT_SECONDS, follow_redirects=False
        )
    except httpx.TransportError as exc:  # timeout, refused, reset: the helpdesk may be back soon
        raise HelpdeskUnavailable(f"care task {task_id} {event}: {type(exc).__name__}") from None
    status = response.status_code
    if status >= 500 or status in _RETRIED_4XX:
        raise HelpdeskUnavailable(f"care task {task_id} {event}: the helpdesk answered {status}")
    if status >= 300:
        log.warning("helpdesk refused care task %s %s with %s; not retried", task_id, event, status)
