"""The story the review tests start from: a customer whose order's parcel hits a carrier exception now."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from engine.clock import SimulatedClock
from engine.runtime import Runtime
from support import builders
from support.pipeline import drain, post


def carrier_exception(
    client: TestClient,
    rt: Runtime,
    clock: SimulatedClock,
    *,
    cid: str = "C1",
    order_id: str = "A1001",
    exception: str = "address",
    placed_ago: timedelta = timedelta(days=2),
    promised_in: timedelta = timedelta(days=5),
    **customer: Any,
) -> None:
    """Post the customer (builders' Ana unless `customer` says otherwise), their order placed `placed_ago`
    and promised `promised_in` after that, and the exception; then apply and deliver everything."""
    t = clock.now()
    post(
        client,
        clock,
        builders.customer_upserted(t - timedelta(days=3), cid=cid, **customer),
        builders.order_created(t - placed_ago, order_id=order_id, customer_id=cid, promised_in=promised_in),
        builders.shipment(t, "exception", order_id=order_id, exception=exception),
    )
    drain(rt)
