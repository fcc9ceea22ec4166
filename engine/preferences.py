"""Customer contact preferences changed by the customer (unsubscribe) or staff; always audited."""

from __future__ import annotations

from engine import audit
from engine.models import Customer
from engine.runtime import Runtime


def set_email_opt_out(rt: Runtime, customer_id: str, *, opted_out: bool, actor: str) -> bool:
    """Returns False when the customer is unknown."""
    with rt.unit_of_work() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            return False
        if customer.email_opted_out != opted_out:
            customer.email_opted_out = opted_out
            audit.append(
                session,
                at=rt.clock.now(),
                actor=actor,
                action="customer.email_unsubscribed" if opted_out else "customer.email_resubscribed",
                subject=f"customer:{customer_id}",
                details={},
            )
        return True
