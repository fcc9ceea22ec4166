"""Rules fired by carrier scans: exceptions open a situation, delivery resolves the order's thread."""

from __future__ import annotations

from sqlmodel import Session

from engine.detection.model import learn_from_delivery
from engine.detection.orders import evaluate_order, order_subject_key
from engine.detection.rules import CARRIER_TROUBLE
from engine.models import Customer, Order
from engine.notices.composer import Subject
from engine.runtime import Runtime
from engine.situations.service import Matter, raise_situation, resolve_subject
from engine.state.orders import ShipmentChange

TROUBLE = ("exception", "returned", "lost")
(KIND,) = CARRIER_TROUBLE.kinds


def on_shipment_change(session: Session, rt: Runtime, change: ShipmentChange) -> None:
    if change.stale or change.order.canceled_at is not None:
        return
    order, shipment = change.order, change.shipment
    if shipment.status not in (*TROUBLE, "delivered"):
        evaluate_order(session, rt, order)  # most scans: only the schedule moves
        return
    customer = session.get(Customer, order.customer_id)
    if customer is None:
        return
    key = order_subject_key(order.id)
    subject = Subject(order=order, shipment=shipment)
    if shipment.status in TROUBLE:
        new_trouble = change.previous_status != shipment.status or change.previous_exception != shipment.exception
        reason = f"carrier reported {shipment.status} ({shipment.exception})"
        details = {
            "status": shipment.status,
            "exception": shipment.exception,
            "carrier": shipment.carrier,
            "reason": reason,
            "confidence": 1.0,  # the carrier said so
        }
        raise_situation(
            session, rt, Matter(KIND, key, subject, details), customer=customer, material=new_trouble, reason=reason
        )
    if shipment.status == "delivered":
        if change.previous_status != "delivered":
            learn_from_delivery(session, order, shipment, now=rt.clock.now())
            if order.delivered_at is None:  # another parcel is still on its way: the order is not done
                evaluate_order(session, rt, order)
                return
            order.next_check_at = None
            resolve_subject(
                session,
                rt,
                customer=customer,
                subject_key=key,
                subject=subject,
                reason="parcel delivered",
                follow_up=True,
            )
        return
    evaluate_order(session, rt, order)


def on_order_changed(session: Session, rt: Runtime, order: Order) -> None:
    """A new or changed promise: look again now, and schedule the next look."""
    if order.canceled_at is not None:
        order.next_check_at = None
        return
    evaluate_order(session, rt, order)


def on_order_canceled(session: Session, rt: Runtime, *, customer: Customer, order_id: str) -> None:
    # A canceled order needs no more delay news: close its thread quietly.
    resolve_subject(
        session,
        rt,
        customer=customer,
        subject_key=order_subject_key(order_id),
        subject=Subject(),
        reason="order canceled",
        follow_up=False,
    )
