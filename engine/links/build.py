"""The `links` of a message's context: a feed's page where one exists, else our own status page."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from engine.links.tokens import Page, make_token

MAX_LINK = 1000  # orders.order_url / tracking_url
_UNSAFE = re.compile(r"[\x00-\x20\x7f<>\"'`\\]")


def safe_link(value: Any) -> str | None:
    """A feed's link as customers may be sent it: https, a host, no spaces, quotes or control characters,
    at most 1000 characters; anything else (javascript:, data:, http:, a bare path) is None, never shown."""
    if not isinstance(value, str):
        return None
    link = value.strip()
    if not link or len(link) > MAX_LINK or _UNSAFE.search(link):
        return None
    try:
        parts = urlsplit(link)
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or not parts.hostname or parts.username or parts.password:
        return None
    return link


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
    # Checked again here: a row stored before feeds' links were checked must not reach a message either.
    tracking_url, order_url = safe_link(tracking_url), safe_link(order_url)
    return {
        "tracking": (tracking_url or own) if order_id else None,
        "order": (order_url or own) if order_id else None,
        "orders": status_url(base, secret_key, Page.CUSTOMER, customer_id) if customer_id else None,
        # an outage holds nothing personal: the public status page (`/status`), short enough for any text
        "status_page": f"{base.rstrip('/')}/status" if incident_id else None,
        # the merchant's order page may not let a customer correct the address; ours does
        "address": address_url(base, secret_key, order_id) if order_id else None,
        # always our short page: what a text links to when a feed's long link does not fit (compose.render)
        "ours": own,
    }
