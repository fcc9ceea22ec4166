"""What the engine's probabilities were worth in a back-test, checked against what the trace says happened.

A reliability table: the probabilities of missing the promise the engine stated before each promise, in
bins, with how many of those judgements' orders really were late. A sweep: recall, early recall, precision
and median lead at several thresholds from one replay, deciding afterwards from the recorded probabilities
(a replay run for a sweep records them and never warns on them, so the rules' own warnings stay unmasked).
Orders are scored as `score_replay.py` scores them: late when delivered after the promise or, not
delivered, when the promise passed before the trace ended; a carrier's exception, return or loss makes a
warning right even if the parcel then arrives in time. The sweep times a warning at the judgement that
made it; a text held for the customer's quiet hours would go out later.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from engine.detection.judgements import Judgement
from engine.models import Order, Shipment

EARLY = timedelta(hours=24)
BINS = 10


@dataclass(frozen=True)
class Outcome:
    promised: datetime
    late: bool
    trouble: bool


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    judgements: int
    orders: int
    late_share: float | None  # of the judgements in this bin, the share whose order was late


@dataclass(frozen=True)
class Point:
    threshold: float
    warned: int
    recall: float | None
    early_recall: float | None
    precision: float | None
    median_lead_h: float | None


def outcomes(session: Session, *, end: datetime) -> dict[str, Outcome]:
    """Each order that was not canceled and had a promise: was it late, did its carrier report trouble."""
    trouble = set(session.exec(select(Shipment.order_id).where(col(Shipment.exception).is_not(None))).all())
    found: dict[str, Outcome] = {}
    for order in session.exec(select(Order).where(col(Order.canceled_at).is_(None))).all():
        promised = order.promised_by
        if promised is None:
            continue
        late = order.delivered_at > promised if order.delivered_at is not None else end > promised
        found[order.id] = Outcome(promised, late, order.id in trouble)
    return found


def reliability(judgements: Iterable[Judgement], truth: dict[str, Outcome]) -> list[Bin]:
    """Only forecasts count: judgements made before the promise, of orders whose outcome is known."""
    counts = [[0, 0] for _ in range(BINS)]
    orders: list[set[str]] = [set() for _ in range(BINS)]
    for judgement in judgements:
        outcome = truth.get(judgement.order_id)
        if outcome is None or judgement.at >= outcome.promised:
            continue
        index = min(BINS - 1, int(judgement.probability * BINS))
        counts[index][0] += 1
        counts[index][1] += outcome.late
        orders[index].add(judgement.order_id)
    return [
        Bin(i / BINS, (i + 1) / BINS, n, len(orders[i]), late / n if n else None) for i, (n, late) in enumerate(counts)
    ]


def sweep(
    judgements: list[Judgement],
    rule_warnings: dict[str, datetime],
    truth: dict[str, Outcome],
    thresholds: Iterable[float],
) -> list[Point]:
    """Each threshold's decision: an order is first warned by the rules or by its first judgement at or
    above the threshold, whichever came first."""
    return [_point(t, _first_warnings(judgements, rule_warnings, t), truth) for t in thresholds]


def _first_warnings(
    judgements: list[Judgement], rule_warnings: dict[str, datetime], threshold: float
) -> dict[str, datetime]:
    first = dict(rule_warnings)
    for judgement in judgements:
        if judgement.probability >= threshold:
            known = first.get(judgement.order_id)
            first[judgement.order_id] = judgement.at if known is None else min(known, judgement.at)
    return first


def _point(threshold: float, first: dict[str, datetime], truth: dict[str, Outcome]) -> Point:
    late = {o for o, outcome in truth.items() if outcome.late}
    warned = set(first)
    right = {o for o in warned if o in truth and (truth[o].late or truth[o].trouble)}
    in_time = [o for o in late if o in first and first[o] <= truth[o].promised]
    early = [o for o in late if o in first and first[o] <= truth[o].promised - EARLY]
    leads = [(truth[o].promised - first[o]).total_seconds() / 3600 for o in late if o in first]
    return Point(
        threshold,
        len(warned),
        _share(len(in_time), len(late)),
        _share(len(early), len(late)),
        _share(len(right), len(warned)),
        round(statistics.median(leads), 1) if leads else None,
    )


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def reliability_lines(bins: list[Bin]) -> list[str]:
    lines = ["reliability (forecasts before the promise): p bin, judgements, orders, share late"]
    for b in bins:
        share = f"{b.late_share:.3f}" if b.late_share is not None else "-"
        lines.append(
            f"  [{b.low:.1f}, {b.high:.1f}{']' if b.high >= 1 else ')'}  {b.judgements:>7} {b.orders:>6}  {share}"
        )
    return lines


def sweep_lines(points: list[Point]) -> list[str]:
    if not points:
        return []
    lines = ["sweep: threshold, warned, recall, early recall, precision, median lead h"]
    for p in points:
        cells = (p.recall, p.early_recall, p.precision, p.median_lead_h)
        lines.append(f"  {p.threshold:<5} {p.warned:>6}  " + "  ".join(f"{c!s:>6}" for c in cells))
    return lines
