"""Orders and their shipments: the promise and what the carrier says about keeping it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.db import JSONType, UTCDateTime


class Order(SQLModel, table=True):
    __tablename__ = "orders"

    id: str = Field(primary_key=True, max_length=128)
    customer_id: str = Field(foreign_key="customers.id", index=True, max_length=128)
    placed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    promised_by: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ship_by: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lines: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    total_amount: str | None = Field(default=None, max_length=32)
    total_currency: str | None = Field(default=None, max_length=8)
    canceled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Links a feed gave for the customer (Shopify's order status page, a carrier's tracking page): the
    # messages link there; without one they link to Forewarn's own status page (engine/links).
    order_url: str | None = Field(default=None, max_length=1000)
    tracking_url: str | None = Field(default=None, max_length=1000)
    state_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the periodic scan must look at this order again; the scan reads only what is due.
    next_check_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Shipment(SQLModel, table=True):
    __tablename__ = "shipments"
    __table_args__ = (UniqueConstraint("order_id", "tracking_number", name="uq_shipments_order_tracking"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=128)
    carrier: str = Field(default="", max_length=64)
    tracking_number: str = Field(default="", max_length=128)
    status: str = Field(default="label_created", max_length=32)
    # occurred_at of the newest scan applied; older scans never overwrite newer state.
    status_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    estimated_delivery_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    previous_estimated_delivery_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    exception: str | None = Field(default=None, max_length=32)
    location: str | None = Field(default=None, max_length=200)
    message: str | None = Field(default=None, max_length=500)
    handed_over_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_scan_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    out_for_delivery_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The longest silence between two scans so far, learned from when the parcel is delivered.
    max_scan_gap_hours: float = Field(default=0.0)
    # The carrier's estimate when the parcel was handed over, and when we judged it stalled or overdue.
    first_estimated_delivery_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    stalled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    overdue_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
