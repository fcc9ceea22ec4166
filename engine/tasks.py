"""Background steps as plain functions; engine.broker declares them as dramatiq actors by name.

Actors take ids, reload state, and are idempotent (polar's rule), so a redelivered message is harmless.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from engine.detection.outages import SYNC_THREADS_ACTOR, sync_threads
from engine.notices.batch_delivery import deliver_batch
from engine.notices.delivery import deliver_notice
from engine.processing import apply_event
from engine.runtime import Runtime

_runtime: Runtime | None = None
_lock = threading.Lock()


def install_runtime(rt: Runtime) -> None:
    """Actors run in worker threads of this process; they all share this runtime."""
    global _runtime
    with _lock:
        _runtime = rt


def current_runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("no runtime installed in this process (call engine.tasks.install_runtime)")
    return _runtime


def events_apply(event_id: int) -> None:
    apply_event(current_runtime(), event_id)


def notices_deliver(notice_id: int) -> None:
    deliver_notice(current_runtime(), notice_id)


def notices_deliver_batch(notice_ids: list[int]) -> None:
    deliver_batch(current_runtime(), notice_ids)


def incidents_sync_threads(incident_id: str) -> None:
    sync_threads(current_runtime(), incident_id)


HANDLERS: dict[str, Callable[..., Any]] = {
    "events.apply": events_apply,
    "notices.deliver": notices_deliver,
    "notices.deliver_batch": notices_deliver_batch,
    SYNC_THREADS_ACTOR: incidents_sync_threads,
}
