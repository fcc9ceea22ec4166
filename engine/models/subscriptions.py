"""Which customers follow which service component: the index an outage fan-out reads.

`customers.components` (JSON) stays what the customer said; this table mirrors it one row per
(customer, component) so "everyone subscribed to checkout" is an index range scan, not a scan of every
customer's JSON. `engine.state.subscriptions` keeps the two in step on every customer upsert.
"""

from __future__ import annotations

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class CustomerComponent(SQLModel, table=True):
    __tablename__ = "customer_components"
    # (component, customer_id): a fan-out reads one component's subscribers in customer id order, in pages.
    __table_args__ = (Index("ix_customer_components_component", "component", "customer_id"),)

    customer_id: str = Field(foreign_key="customers.id", primary_key=True, max_length=128)
    component: str = Field(primary_key=True, max_length=128)
