"""Apply an assessment: mark the parcel, raise the situation it calls for, schedule the next look."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session

from engine.clock import format_instant, parse_instant
from engine.db import row_locks
from engine.detection.assess import Verdict, assess
from engine.detection.judgements import judgement_log
from engine.detection.judgements import record as record_judgement
from engine.detection.model import DeliveryModel, ModelCache
from engine.models import Customer, Order, Shipment
from engine.notices.composer import Subject
from engine.policy.quiet_hours import last_reachable
from engine.quarantine import clear, each_isolated, quarantine
from engine.runtime import Runtime
from engine.situations import repository as situations_repo
from engine.situations.service import Matter, raise_situation
from engine.state.orders import due_orders, order_shipments
from engine.vocabulary import Channel, PoisonKind, SituationKind, Step, ThreadKind, thread_key

# Inferred warnings (a stall, a missed last call) add nothing once the customer already knows.
INFERRED = (SituationKind.ORDER_LATE_TO_SHIP, SituationKind.SHIPMENT_STALLED)
MATERIAL_SLIP = timedelta(days=1)
# An order the scan could not judge is looked at again after this (a fixed template, a wider column).
POISON_RETRY = timedelta(hours=1)


def order_subject_key(order_id: str) -> str:
    return thread_key(ThreadKind.ORDER, order_id)


def delivery_model(session: Session, rt: Runtime) -> DeliveryModel:
    cache: ModelCache = rt.memo.setdefault("delivery_model", ModelCache())
    return cache.get(session, rt.clock.now())


def _reach_by(rt: Runtime, customer: Customer | None, promise: datetime | None) -> datetime | None:
    """For a customer told only by text, the last moment before the promise outside their quiet hours."""
    if customer is None or promise is None or (customer.email and Channel.EMAIL in customer.channels):
        return None
    window = customer.quiet_hours or rt.settings.quiet_hours
    reach_by = last_reachable(promise, timezone=customer.timezone, window=window)
    return reach_by if reach_by < promise else None


def _morning_of(customer: Customer | None, promise: datetime | None) -> datetime | None:
    """08:00 in the customer's zone on the promised day (the day before, for a promise before 08:00)."""
    if customer is None or promise is None:
        return None
    try:
        zone = ZoneInfo(customer.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = promise.astimezone(zone)
    morning = local.replace(hour=8, minute=0, second=0, microsecond=0)
    if morning > local:
        morning -= timedelta(days=1)
    return morning.astimezone(UTC)


def evaluate_order(
    session: Session,
    rt: Runtime,
    order: Order,
    *,
    model: DeliveryModel | None = None,
    scheduled: bool = False,
) -> None:
    """Judge the order now. Called on an event, only hard evidence (a later estimate) is told at once:
    inferences from what has *not* happened yet wait for the scheduled scan, because the events that
    would contradict them (a batch of scans arriving together) may still be in the queue.
    """
    now = rt.clock.now()
    customer = session.get(Customer, order.customer_id)
    shipment, verdict = _judge_parcels(session, rt, order, customer, model or delivery_model(session, rt))
    record_judgement(rt, order.id, now, verdict.probability)
    if verdict.kind is None:
        return
    if not scheduled and verdict.details.get("eta") is None:
        order.next_check_at = now
        return
    if customer is None:
        return
    key = order_subject_key(order.id)
    open_now = situations_repo.open_for_subject(session, customer_id=customer.id, subject_key=key)
    same = next((s for s in open_now if s.kind == verdict.kind), None)
    if same is None and open_now and (verdict.kind in INFERRED or verdict.details.get("eta") is None):
        return
    material = same is None or _slipped_again(same.details.get("eta"), verdict.details.get("eta"))
    details = {k: format_instant(v) if isinstance(v, datetime) else v for k, v in verdict.details.items()}
    details["reason"] = verdict.reason  # every warning explains itself (with `confidence` when inferred)
    matter = Matter(verdict.kind, key, Subject(order=order, shipment=shipment), details)
    raise_situation(session, rt, matter, customer=customer, material=material, reason=verdict.reason)


def _judge_parcels(
    session: Session, rt: Runtime, order: Order, customer: Customer | None, model: DeliveryModel
) -> tuple[Shipment | None, Verdict]:
    """Every parcel still on its way is judged, and the order is late when any of them is: the verdict
    told is hard evidence first (a later estimate), then any other warning; the order is looked at again
    when the soonest of its parcels needs it, with the most worrying parcel's probability."""
    now = rt.clock.now()
    log = judgement_log(rt)
    confidence = rt.settings.warn_confidence if log is None or log.decide else None
    parcels: list[Shipment | None] = [s for s in order_shipments(session, order.id) if s.delivered_at is None]
    judged: list[tuple[Shipment | None, Verdict]] = []
    for parcel in parcels or [None]:
        verdict = assess(
            order,
            parcel,
            now,
            model,
            reach_by=_reach_by(rt, customer, order.promised_by),
            morning=_morning_of(customer, order.promised_by),
            warn_confidence=confidence,
        )
        if parcel is not None:
            if verdict.stalled and parcel.stalled_at is None:
                parcel.stalled_at = now
            if verdict.overdue and parcel.overdue_at is None:
                parcel.overdue_at = now
        judged.append((parcel, verdict))
    warned = [j for j in judged if j[1].kind is not None]
    shipment, chosen = next((j for j in warned if j[1].details.get("eta") is not None), None) or (warned or judged)[0]
    checks = [v.next_check_at for _, v in judged if v.next_check_at is not None]
    order.next_check_at = min(checks) if checks else None
    chances = [v.probability for _, v in judged if v.probability is not None]
    chosen.probability = max(chances) if chances else None
    return shipment, chosen


def _slipped_again(before: object, after: object) -> bool:
    """An estimate that moves a day or more later is news; anything smaller is not."""
    if not isinstance(after, datetime):
        return False
    if not isinstance(before, str):
        return True
    return after - parse_instant(before) >= MATERIAL_SLIP


def scan_due(rt: Runtime, *, limit: int = 1000, batch: int = 200) -> int:
    """Look at orders whose next check is due; costs what is due, not what is open. An order that cannot
    be judged (engine.quarantine) is looked at again an hour later and stops no other order."""
    now = rt.clock.now()
    with rt.unit_of_work() as session:
        due = due_orders(session, now=now, limit=limit)

    def check(session: Session, order_id: str) -> None:
        order = session.get(Order, order_id, with_for_update=row_locks(session))
        if order is not None and order.next_check_at is not None and order.next_check_at <= now:
            evaluate_order(session, rt, order, model=delivery_model(session, rt), scheduled=True)

    def put_aside(session: Session, order_id: str, error: Exception) -> None:
        order = session.get(Order, order_id)
        if order is not None:
            order.next_check_at = now + POISON_RETRY
        quarantine(
            session, kind=PoisonKind.ORDER, ref=order_id, step=Step.SCAN, error=error, at=now, retry_in=POISON_RETRY
        )

    def went_through(session: Session, order_ids: list[str]) -> None:
        clear(session, kind=PoisonKind.ORDER, refs=order_ids, step=Step.SCAN, at=now)

    for start in range(0, len(due), batch):
        each_isolated(rt, due[start : start + batch], check, put_aside, went_through)
    return len(due)
