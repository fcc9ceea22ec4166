"""Orders and shipments from `order.*` and `shipment.updated` events; stale scans never win."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from engine.db import insert_if_absent, row_locks
from engine.events.schema import CanonicalEvent, OrderBody, ShipmentBody
from engine.models import Order, Shipment
from engine.state.customers import ensure_customer, upsert_customer


class UnknownOrder(LookupError):
    """The event is about an order Forewarn has not seen; it is retried for a while, then ignored."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id} is not known yet")
        self.order_id = order_id


@dataclass(frozen=True)
class ShipmentChange:
    """What one scan changed, for the detection rules to judge."""

    order: Order
    shipment: Shipment
    previous_status: str | None
    previous_exception: str | None
    previous_eta: datetime | None
    stale: bool  # older than the state we hold: recorded, but changes nothing


def apply_order(session: Session, event: CanonicalEvent, *, now: datetime) -> Order:
    body = event.order
    assert body is not None
    if body.customer is not None:
        upsert_customer(session, body.customer, occurred_at=event.occurred_at, now=now)
    order = session.get(Order, body.id, with_for_update=row_locks(session))
    if order is None:
        customer_id = body.customer.id if body.customer else None
        if customer_id is None:
            raise UnknownOrder(body.id)
        ensure_customer(session, customer_id, now=now)
        values = {"id": body.id, "customer_id": customer_id, "lines": [], "created_at": now, "updated_at": now}
        insert_if_absent(session, Order, values, ["id"])
        order = session.get(Order, body.id, with_for_update=row_locks(session))
        assert order is not None
    elif order.state_at is not None and event.occurred_at < order.state_at and event.type != "order.canceled":
        return order
    _copy_order_fields(order, body)
    if event.type == "order.canceled" and order.canceled_at is None:
        order.canceled_at = event.occurred_at
    order.state_at = max(filter(None, (order.state_at, event.occurred_at)))
    order.updated_at = now
    return order


def _copy_order_fields(order: Order, body: OrderBody) -> None:
    if body.customer is not None:
        order.customer_id = body.customer.id
    for name in ("placed_at", "promised_by", "ship_by"):
        value = getattr(body, name)
        if value is not None:
            setattr(order, name, value)
    if body.lines is not None:
        order.lines = [line.model_dump(mode="json") for line in body.lines]
    if body.total is not None:
        order.total_amount, order.total_currency = body.total.amount, body.total.currency
    if body.order_url is not None:
        order.order_url = body.order_url


def apply_shipment(session: Session, event: CanonicalEvent, *, now: datetime) -> ShipmentChange:
    """Raises UnknownOrder when the order has not arrived (yet): feeds deliver out of order."""
    body = event.shipment
    assert body is not None
    # The order row lock serialises every change to this order's shipments and situations.
    order = session.get(Order, body.order_id, with_for_update=row_locks(session))
    if order is None:
        raise UnknownOrder(body.order_id)
    shipment = _find_shipment(session, order.id, body)
    if shipment is None:
        shipment = Shipment(
            order_id=order.id,
            carrier=body.carrier,
            tracking_number=body.tracking_number,
            created_at=now,
            updated_at=now,
        )
        session.add(shipment)
        previous: tuple[str | None, str | None, datetime | None] = (None, None, None)
    else:
        previous = (shipment.status, shipment.exception, shipment.estimated_delivery_at)
    at = event.occurred_at
    stale = shipment.status_at is not None and at < shipment.status_at
    if not stale:
        _apply_scan(shipment, body, at)
        shipment.updated_at = now
        # An order is delivered with its last parcel: until then the others can still miss the promise.
        if body.status == "delivered" and order.delivered_at is None and _all_delivered(session, order.id):
            order.delivered_at = at
            order.updated_at = now
        if body.tracking_url is not None and body.tracking_url != order.tracking_url:
            order.tracking_url = body.tracking_url  # the newest parcel's page, as its news is the newest
            order.updated_at = now
    return ShipmentChange(order, shipment, previous[0], previous[1], previous[2], stale)


def _find_shipment(session: Session, order_id: str, body: ShipmentBody) -> Shipment | None:
    candidates = session.exec(_SHIPMENTS_OF_ORDER, params={"order_id": order_id}).all()
    for shipment in candidates:
        if shipment.tracking_number == body.tracking_number:
            return shipment
    # A feed that omits the tracking number still means the order's one parcel.
    if not body.tracking_number and len(candidates) == 1:
        return candidates[0]
    return None


# Built once: this lookup runs for every carrier scan.
_SHIPMENTS_OF_ORDER = select(Shipment).where(Shipment.order_id == bindparam("order_id"))


def _apply_scan(shipment: Shipment, body: ShipmentBody, at: datetime) -> None:
    if body.carrier:
        shipment.carrier = body.carrier
    # The silence before delivery counts too: a carrier that scans only at hand-over and at the door has
    # gaps as long as its trips, and so teaches that its silence means nothing (engine.detection.assess).
    if shipment.last_scan_at is not None and body.status != "label_created":
        gap = (at - shipment.last_scan_at).total_seconds() / 3600
        shipment.max_scan_gap_hours = max(shipment.max_scan_gap_hours, gap)
    shipment.status = body.status
    shipment.status_at = at
    shipment.last_scan_at = at
    if body.status == "out_for_delivery" and shipment.out_for_delivery_at is None:
        shipment.out_for_delivery_at = at
    if body.status != "label_created" and shipment.handed_over_at is None:
        shipment.handed_over_at = at
    if body.estimated_delivery_at is not None and shipment.first_estimated_delivery_at is None:
        shipment.first_estimated_delivery_at = body.estimated_delivery_at
    if body.estimated_delivery_at is not None and body.estimated_delivery_at != shipment.estimated_delivery_at:
        shipment.previous_estimated_delivery_at = shipment.estimated_delivery_at
        shipment.estimated_delivery_at = body.estimated_delivery_at
    if body.status in ("exception", "returned", "lost"):
        shipment.exception = body.exception or ("other" if body.status == "exception" else body.status)
    if body.location is not None:
        shipment.location = body.location[:200]
    if body.message is not None:
        shipment.message = body.message[:500]
    if body.status == "delivered" and shipment.delivered_at is None:
        shipment.delivered_at = at


def _all_delivered(session: Session, order_id: str) -> bool:
    session.flush()
    return all(s.delivered_at is not None for s in order_shipments(session, order_id))


def order_shipments(session: Session, order_id: str) -> list[Shipment]:
    """Every parcel of the order, the most recently scanned first."""
    return list(session.exec(_SHIPMENTS_BY_RECENCY, params={"order_id": order_id}).all())


def latest_shipment(session: Session, order_id: str) -> Shipment | None:
    """The order's most recently scanned parcel (what an order's warning is about)."""
    return session.exec(_LATEST_SHIPMENT, params={"order_id": order_id}).first()


# Built once: read for every order change and scheduled check.
_LATEST_SHIPMENT = (
    select(Shipment)
    .where(Shipment.order_id == bindparam("order_id"))
    .order_by(col(Shipment.updated_at).desc(), col(Shipment.id).desc())
    .limit(1)
)


_SHIPMENTS_BY_RECENCY = (
    select(Shipment)
    .where(Shipment.order_id == bindparam("order_id"))
    .order_by(col(Shipment.updated_at).desc(), col(Shipment.id).desc())
)


def due_orders(session: Session, *, now: datetime, limit: int) -> list[str]:
    """Orders whose next check is due, soonest first (an index on `next_check_at`: costs what is due)."""
    statement = select(Order.id).where(col(Order.next_check_at) <= now).order_by(col(Order.next_check_at))
    return list(session.exec(statement.limit(limit)).all())
