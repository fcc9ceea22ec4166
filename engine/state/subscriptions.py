"""Keep `customer_components` in step with `customers.components` (see engine/models/subscriptions.py)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from engine.models import Customer, CustomerComponent

# A service component's name is at most this long (`components.name`); a longer one can never go down.
MAX_COMPONENT = 128


def sync_subscriptions(session: Session, customer_id: str, components: Iterable[str]) -> None:
    """Make the customer's rows say exactly `components`: a component dropped from the list is no longer
    followed, so the next outage of it does not reach this customer."""
    wanted = {name for name in components if name and len(name) <= MAX_COMPONENT}
    have = set(
        session.exec(select(CustomerComponent.component).where(CustomerComponent.customer_id == customer_id)).all()
    )
    gone = have - wanted
    if gone:
        session.execute(
            delete(CustomerComponent).where(
                col(CustomerComponent.customer_id) == customer_id, col(CustomerComponent.component).in_(gone)
            )
        )
    new = sorted(wanted - have)
    if new:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(
            insert(CustomerComponent)
            .values([{"customer_id": customer_id, "component": name} for name in new])
            .on_conflict_do_nothing()
        )


def count_subscribers(session: Session, component: str) -> int:
    """How many customers follow `component` (an index-only count)."""
    statement = select(func.count()).select_from(CustomerComponent).where(CustomerComponent.component == component)
    return int(session.exec(statement).one())


def subscribers_page(session: Session, component: str, *, after: str, limit: int) -> list[Customer]:
    """The next `limit` customers following `component` with an id above `after`, in id order."""
    statement = (
        select(Customer)
        .join(CustomerComponent, col(CustomerComponent.customer_id) == col(Customer.id))
        .where(CustomerComponent.component == component, col(CustomerComponent.customer_id) > after)
        .order_by(col(CustomerComponent.customer_id))
        .limit(limit)
    )
    return list(session.exec(statement).all())
