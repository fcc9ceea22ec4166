"""The `links` of a message's context: a feed's page where one exists, else our own status page."""

from __future__ import annotations

from typing import Any

from engine.links.tokens import Page, make_token


def status_url(base: str, secret_key: str, page: Page, ref: str) -> str:
    return f"{base.rstrip('/')}/s/{make_token(secret_key, page, ref)}"


def address_url(base: str, secret_key: str, order_id: str) -> str:
    return f"{status_url(base, secret_key, Page.ORDER, order_id)}/address"


def message_links(
    *,
    base: str,
    secret_key: str,
    customer_id: str | None,
    order_id: str | None,
    order_url: str | None = None,
    tracking_url: str | None = None,
    incident_id: str | None = None,
) -> dict[str, Any]:
    """tracking, order, orders, status_page, address: each a page that answers."""
    own = status_url(base, secret_key, Page.ORDER, order_id) if order_id else None
    return {
        "tracking": (tracking_url or own) if order_id else None,
        "order": (order_url or own) if order_id else None,
        "orders": status_url(base, secret_key, Page.CUSTOMER, customer_id) if customer_id else None,
        # an outage holds nothing personal: the public status page (`/status`), short enough for any text
        "status_page": f"{base.rstrip('/')}/status" if incident_id else None,
        # the merchant's order page may not let a customer correct the address; ours does
        "address": address_url(base, secret_key, order_id) if order_id else None,
    }
