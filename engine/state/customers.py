"""Customers from `customer.upserted` and from the customer block of an order."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from engine.db import insert_if_absent, row_locks
from engine.events.schema import CustomerRef
from engine.models import Customer
from engine.state.subscriptions import sync_subscriptions
from engine.vocabulary import Channel

_FIELDS = ("name", "email", "phone", "locale", "timezone", "components", "channels", "quiet_hours")


def upsert_customer(
    session: Session, ref: CustomerRef, *, occurred_at: datetime, now: datetime
) -> tuple[Customer, list[str]]:
    """Create or update; fields from an older event never overwrite a newer one's. Returns the customer and
    the components they newly follow."""
    customer = ensure_customer(session, ref.id, now=now)
    given = ref.model_dump(include=set(_FIELDS), exclude_unset=True)
    if customer.state_at is not None and occurred_at < customer.state_at and given:
        return customer, []
    for name, value in given.items():
        if value is not None:
            setattr(customer, name, value)
    followed = (
        sync_subscriptions(session, customer.id, customer.components) if given.get("components") is not None else []
    )
    if "channels" not in given and not customer.channels and customer.email:
        # Order updates by email are service messages; SMS always needs the customer's explicit yes.
        customer.channels = [Channel.EMAIL.value]
    if given:
        customer.state_at = occurred_at
    customer.updated_at = now
    return customer, followed


def ensure_customer(session: Session, customer_id: str, *, now: datetime) -> Customer:
    """The customer row, created empty if new, locked for this transaction on PostgreSQL."""
    customer = session.get(Customer, customer_id, with_for_update=row_locks(session))
    if customer is None:
        blank = {"channels": [], "components": [], "extra": {}, "email_opted_out": False}
        insert_if_absent(
            session,
            Customer,
            {
                "id": customer_id,
                "name": "",
                "locale": "en",
                "timezone": "UTC",
                **blank,
                "created_at": now,
                "updated_at": now,
            },
            ["id"],
        )
        customer = session.get(Customer, customer_id, with_for_update=row_locks(session))
    assert customer is not None
    return customer
