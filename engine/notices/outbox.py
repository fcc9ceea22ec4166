"""The outbox's hand-off: notice ids go to workers in jobs of many, once the transaction that wrote
them has committed (the row is the truth; a lost job is re-queued by the scheduler's relay)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from engine.runtime import enqueue_after_commit
from engine.vocabulary import Job

# Ids per delivery job: enough that the broker is no bottleneck (100,000 notices are 2,000 jobs), few enough
# that a fan-out spreads over every worker process and thread: with jobs of 250, one worker prefetched a
# 2,000-recipient fan-out's eight jobs while another sat idle. Workers also prefetch no more jobs than they
# have threads (`engine.wiring.fair_worker`).
QUEUE_BATCH = 50


def queue_for_delivery(session: Session, notice_ids: Sequence[int]) -> None:
    for start in range(0, len(notice_ids), QUEUE_BATCH):
        enqueue_after_commit(session, Job.DELIVER, list(notice_ids[start : start + QUEUE_BATCH]))
