"""Erasing a customer (GDPR art. 17): their personal data leaves state, notices, stored events, the audit
log's personal parts and the development outbox, while the audit chain still verifies.

What goes: name, email, phone and preferences; what they ordered (lines, totals) and the carrier's free
text (tracking number, location, message); every notice's recipient, subject and words, and what the
provider answered about them; the raw events that carried any of it; their replies quoted in the audit
log (`audit_personal`); quarantine notes about their rows; `.eml`/`.json` files of their notices.

What stays, and why: ids (the customer's, their orders', notices' — pseudonymous, and what the chain
and the counts refer to); times and statuses (what the engine did, which the audit log must keep
proving); the suppression list (an address that said STOP or bounced stays on it, alone, so that it is
never written to again). The chain is never edited: its entries name ids and decisions only, and the
erasure itself is one more entry (`customer.erased`), which is what lets `forewarn audit verify` accept
the missing personal parts. Email that already left through a real SMTP relay cannot be recalled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from engine import audit
from engine.audit import personal
from engine.models import (
    Customer,
    CustomerComponent,
    DeliveryAttempt,
    InboundEvent,
    Notice,
    Order,
    Quarantined,
    Shipment,
)
from engine.runtime import Runtime
from engine.vocabulary import NoticeStatus, PoisonKind

ERASED_TEXT = "[erased]"
_UNSENT = (NoticeStatus.PENDING,)


@dataclass(frozen=True)
class Erasure:
    """What one erasure touched, by kind (also the `customer.erased` entry's details)."""

    customer_id: str
    orders: int
    shipments: int
    notices: int
    dropped: int  # notices not sent yet, which will now never go
    events: int
    audit_parts: int
    files: int


def erase_customer(session: Session, rt: Runtime, customer_id: str, *, actor: str, at: datetime) -> Erasure | None:
    """Erase in the caller's transaction (None: no such customer). The outbox files go in this call too;
    if the transaction then fails, running it again finishes the job (every step is idempotent)."""
    customer = session.exec(select(Customer).where(Customer.id == customer_id).with_for_update()).first()
    if customer is None:
        return None
    order_ids = list(session.exec(select(Order.id).where(Order.customer_id == customer_id)).all())
    notice_ids = [n for n in session.exec(select(Notice.id).where(Notice.customer_id == customer_id)).all() if n]
    _forget_customer(session, customer, at=at)
    shipments = _forget_orders(session, order_ids, at=at)
    dropped = _forget_notices(session, notice_ids)
    event_ids = _forget_events(session, customer_id, order_ids, at=at)
    _forget_quarantine(session, order_ids, event_ids, notice_ids)
    parts = personal.erase(session, customer_id)
    files = _remove_files(rt, notice_ids)
    erasure = Erasure(customer_id, len(order_ids), shipments, len(notice_ids), dropped, len(event_ids), parts, files)
    details: dict[str, Any] = {k: v for k, v in asdict(erasure).items() if k != "customer_id"}
    audit.append(
        session, at=at, actor=actor, action=personal.ERASED, subject=f"customer:{customer_id}", details=details
    )
    return erasure


def _forget_customer(session: Session, customer: Customer, *, at: datetime) -> None:
    customer.name, customer.email, customer.phone = "", None, None
    customer.channels, customer.components, customer.extra = [], [], {}
    customer.quiet_hours, customer.updated_at = None, at
    session.add(customer)
    session.execute(delete(CustomerComponent).where(col(CustomerComponent.customer_id) == customer.id))
    session.flush()


def _forget_orders(session: Session, order_ids: Sequence[str], *, at: datetime) -> int:
    if not order_ids:
        return 0
    session.execute(
        update(Order)
        .where(col(Order.id).in_(order_ids))
        .values(lines=[], total_amount=None, total_currency=None, updated_at=at)
    )
    shipment_ids = list(session.exec(select(Shipment.id).where(col(Shipment.order_id).in_(order_ids))).all())
    for shipment_id in shipment_ids:  # the tracking number is unique per order: each gets its own stand-in
        session.execute(
            update(Shipment)
            .where(col(Shipment.id) == shipment_id)
            .values(tracking_number=f"erased-{shipment_id}", location=None, message=None, updated_at=at)
        )
    return len(shipment_ids)


def _forget_notices(session: Session, notice_ids: Sequence[int]) -> int:
    if not notice_ids:
        return 0
    unsent = col(Notice.id).in_(notice_ids) & col(Notice.status).in_(_UNSENT)
    dropped = session.execute(
        update(Notice).where(unsent).values(status=NoticeStatus.DROPPED, status_reason="customer erased")
    )
    session.execute(
        update(Notice)
        .where(col(Notice.id).in_(notice_ids))
        .values(recipient=ERASED_TEXT, subject=None, body=ERASED_TEXT, html=None)
    )
    session.execute(
        update(Notice)
        .where(col(Notice.id).in_(notice_ids), col(Notice.status) != NoticeStatus.DROPPED)
        .values(status_reason=None)
    )
    session.execute(
        update(DeliveryAttempt).where(col(DeliveryAttempt.notice_id).in_(notice_ids)).values(error=None, result=None)
    )
    return int(getattr(dropped, "rowcount", 0) or 0)


def _forget_events(session: Session, customer_id: str, order_ids: Sequence[str], *, at: datetime) -> list[int]:
    about = col(InboundEvent.customer_id) == customer_id
    if order_ids:
        about = or_(about, col(InboundEvent.order_id).in_(order_ids))
    event_ids = [e for e in session.exec(select(InboundEvent.id).where(about)).all() if e is not None]
    if event_ids:
        mine = col(InboundEvent.id).in_(event_ids)
        # An event not applied yet would only bring the data back: it is settled as erased.
        session.execute(update(InboundEvent).where(mine, col(InboundEvent.handled_at).is_(None)).values(handled_at=at))
        session.execute(update(InboundEvent).where(mine).values(payload={"erased": True}, error=None, outcome="erased"))
    return event_ids


def _forget_quarantine(
    session: Session, order_ids: Sequence[str], event_ids: Sequence[int], notice_ids: Sequence[int]
) -> None:
    refs = {
        PoisonKind.ORDER: list(order_ids),
        PoisonKind.EVENT: [str(i) for i in event_ids],
        PoisonKind.NOTICE: [str(i) for i in notice_ids],
    }
    for kind, ids in refs.items():
        if ids:
            session.execute(delete(Quarantined).where(col(Quarantined.kind) == kind, col(Quarantined.ref).in_(ids)))


def _remove_files(rt: Runtime, notice_ids: Sequence[int]) -> int:
    """The development channels' copies (`<outbox>/<id>.eml`, `<sms>/<id>.json`)."""
    removed = 0
    for folder, suffix in ((rt.settings.outbox_dir, "eml"), (rt.settings.sms_dir, "json")):
        for notice_id in notice_ids:
            path = Path(folder) / f"{notice_id}.{suffix}"
            if path.exists():
                path.unlink()
                removed += 1
    return removed
