"""Keep `customer_components` in step with `customers.components` (see engine/models/subscriptions.py)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete
from sqlalchemy import select as select_columns
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from engine.db.bulk import table_of
from engine.models import Customer, CustomerComponent
from engine.models.customers import first_name_of

# A service component's name is at most this long (`components.name`); a longer one can never go down.
MAX_COMPONENT = 128


def sync_subscriptions(session: Session, customer_id: str, components: Iterable[str]) -> list[str]:
    """Make the customer's rows say exactly `components`: a component dropped from the list is no longer
    followed, so the next outage of it does not reach this customer. Returns the newly followed ones."""
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
    return new


def count_subscribers(session: Session, component: str) -> int:
    """How many customers follow `component` (an index-only count)."""
    statement = select(func.count()).select_from(CustomerComponent).where(CustomerComponent.component == component)
    return int(session.exec(statement).one())


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A customer as a fan-out reads them: what consent, quiet hours and the message need.

    Plain rows, not ORM objects: loading 100,000 `Customer` objects costs more than rendering their messages.
    """

    id: str
    name: str
    email: str | None
    phone: str | None
    locale: str
    timezone: str
    channels: list[str]
    quiet_hours: str | None
    email_opted_out: bool

    @property
    def first_name(self) -> str:
        return first_name_of(self.name)


def _subscriber_columns() -> list[ColumnElement[Any]]:
    c = table_of(Customer).c
    return [
        c.id,
        c.name,
        c.email,
        c.phone,
        c.locale,
        c.timezone,
        c.channels,
        c.quiet_hours,
        c.email_opted_out,
    ]


def subscribers_page(session: Session, component: str, *, after: str, limit: int) -> list[Subscriber]:
    """The next `limit` customers following `component` with an id above `after`, in id order."""
    c, link = table_of(Customer).c, table_of(CustomerComponent).c
    statement = (
        select_columns(*_subscriber_columns())
        .join_from(table_of(CustomerComponent), table_of(Customer), link.customer_id == c.id)
        .where(link.component == component, link.customer_id > after)
        .order_by(link.customer_id)
        .limit(limit)
    )
    return [Subscriber(*row) for row in session.execute(statement).all()]


def load_subscribers(session: Session, ids: Collection[str]) -> dict[str, Subscriber]:
    """These customers (those that exist), by id."""
    if not ids:
        return {}
    c = table_of(Customer).c
    rows = session.execute(select_columns(*_subscriber_columns()).where(c.id.in_(list(ids)))).all()
    return {row[0]: Subscriber(*row) for row in rows}


def first_subscriber(session: Session, component: str) -> Customer | None:
    """The follower of `component` with the lowest id (the approval preview is written for them)."""
    statement = (
        select(Customer)
        .join(CustomerComponent, col(CustomerComponent.customer_id) == col(Customer.id))
        .where(CustomerComponent.component == component)
        .order_by(col(CustomerComponent.customer_id))
        .limit(1)
    )
    return session.exec(statement).first()
