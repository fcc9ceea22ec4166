"""The probabilities the engine assigned, kept while a back-test runs so it can be checked against what
happened: a reliability table (of orders given p, were about p late?) and a sweep of thresholds that
varies only the decision, never the replay (`engine.replay.frontier`).

Production keeps no log (the memo holds none); a replay puts one in the runtime's memo before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from engine.runtime import Runtime

MEMO_KEY = "judgements"


@dataclass(frozen=True)
class Judgement:
    order_id: str
    at: datetime
    probability: float  # of missing the promise, the most worrying of the order's parcels


@dataclass
class JudgementLog:
    # False for a sweep: probabilities are recorded and never warn, so the rules' own warnings are seen
    # unmasked and each threshold's decision can be made afterwards from the same replay.
    decide: bool = True
    judgements: list[Judgement] = field(default_factory=list)


def judgement_log(rt: Runtime) -> JudgementLog | None:
    log = rt.memo.get(MEMO_KEY)
    return log if isinstance(log, JudgementLog) else None


def record(rt: Runtime, order_id: str, at: datetime, probability: float | None) -> None:
    log = judgement_log(rt)
    if log is not None and probability is not None:
        log.judgements.append(Judgement(order_id, at, probability))
