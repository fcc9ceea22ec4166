"""Customers from `customer.upserted` and from the customer block of an order."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from engine.db import row_locks
from engine.events.schema import CustomerRef
from engine.models import Customer

_FIELDS = ("name", "email", "phone", "locale", "timezone", "components", "channels", "quiet_hours")


def upsert_customer(session: Session, ref: CustomerRef, *, occurred_at: datetime, now: datetime) -> Customer:
    """Create or update; fields from an older event never overwrite a newer one's."""
    customer = session.get(Customer, ref.id, with_for_update=row_locks(session))
    given = ref.model_dump(include=set(_FIELDS), exclude_unset=True)
    if customer is None:
        customer = Customer(id=ref.id, created_at=now, updated_at=now)
        session.add(customer)
    elif customer.state_at is not None and occurred_at < customer.state_at and given:
        return customer
    for name, value in given.items():
        if value is not None:
            setattr(customer, name, value)
    if "channels" not in given and not customer.channels and customer.email:
        # Order updates by email are service messages; SMS always needs the customer's explicit yes.
        customer.channels = ["email"]
    if given:
        customer.state_at = occurred_at
    customer.updated_at = now
    return customer


def ensure_customer(session: Session, customer_id: str, *, now: datetime) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        customer = Customer(id=customer_id, created_at=now, updated_at=now)
        session.add(customer)
    return customer
