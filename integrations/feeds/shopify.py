"""Shopify order and fulfillment webhooks (`X-Shopify-Hmac-Sha256`) as canonical events."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from engine.errors import InvalidEvent
from engine.events.schema import CanonicalEvent
from engine.inbound.feed import WebhookRequest
from engine.vocabulary import FeedSource
from integrations.feeds._common import (
    Json,
    canonical,
    decode_object,
    digest,
    first_instant,
    items,
    key_part,
    link,
    opaque_id,
    opt_instant,
    opt_obj,
    required_id,
    stamp,
    text,
    verify_base64_hmac,
)
from integrations.feeds._shopify_shipments import fulfillment, fulfillment_event

log = logging.getLogger(__name__)

TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "fulfillments/create",
    "fulfillments/update",
    "fulfillment_events/create",
)

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_DECIMAL = re.compile(r"^-?[0-9]{1,20}(\.[0-9]{1,8})?$")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")


class ShopifyFeed:
    source = FeedSource.SHOPIFY

    def __init__(
        self,
        secret: str,
        *,
        promise_attribute: str = "promised_by",
        shipping_days: Mapping[str, int] | None = None,
        default_days: int = 5,
    ) -> None:
        self._secret = secret
        self._promise_attribute = promise_attribute.strip().lower()
        self._shipping_days = {title.strip().lower(): days for title, days in (shipping_days or {}).items()}
        self._default_days = default_days

    def verify(self, request: WebhookRequest) -> None:
        verify_base64_hmac(self._secret, request, "X-Shopify-Hmac-Sha256")

    def parse(self, request: WebhookRequest) -> list[CanonicalEvent]:
        topic = request.headers.get("x-shopify-topic", "").strip()
        if not topic:
            raise InvalidEvent("missing X-Shopify-Topic header")
        body = decode_object(request.body)
        if topic not in TOPICS:
            # A signed delivery of a topic we do not use (orders/paid, products/create, app/uninstalled…)
            # is read and ignored: an error would make Shopify retry it and finally drop the subscription.
            log.info("shopify: topic %r carries nothing for us; ignored", topic[:64])
            return []
        # The webhook id is the same on every retry of one delivery: the dedupe key.
        delivery = request.headers.get("x-shopify-webhook-id", "").strip()
        key = key_part(delivery) if delivery else digest(topic, request.body)
        fallback = opt_instant(request.headers.get("x-shopify-triggered-at")) or request.received_at
        if topic == "orders/create":
            raws = self._order_created(body, fallback)
        elif topic in ("orders/updated", "orders/cancelled"):
            raws = [self._order_changed(body, fallback)]
        elif topic == "fulfillment_events/create":
            raws = fulfillment_event(body, fallback)
        else:
            raws = fulfillment(body, fallback, created=topic == "fulfillments/create")
        for n, raw in enumerate(raws):
            raw["id"] = f"shopify:{key}:{n}"
        return canonical("shopify", raws)

    def _order_created(self, order: Json, fallback: datetime) -> list[Json]:
        order_id = required_id(order, "id", "order")
        placed = first_instant(order, ("created_at", "processed_at"), "order") or fallback
        local = _as_written(order.get("created_at") or order.get("processed_at"), placed)
        customer = _customer(order, order_id)
        body: Json = {
            "id": order_id,
            "customer": {"id": customer["id"]},
            "placed_at": stamp(placed),
            "promised_by": stamp(self._promise(order, order_id, local)),
            **_order_details(order),
        }
        at = stamp(placed)
        return [
            {"type": "customer.upserted", "occurred_at": at, "customer": customer},
            {"type": "order.created", "occurred_at": at, "order": body},
        ]

    def _order_changed(self, order: Json, fallback: datetime) -> Json:
        order_id = required_id(order, "id", "order")
        body: Json = {"id": order_id}
        customer_id = opaque_id(opt_obj(order, "customer").get("id"))
        if customer_id:
            body["customer"] = {"id": customer_id}
        # Shopify signs the body, not the X-Shopify-Topic header: a captured orders/updated resent as
        # orders/cancelled must not cancel the order. The signed body says whether it is cancelled
        # (orders/updated reports a cancellation the same way, for shops subscribed to that topic only).
        canceled = order.get("cancelled_at") is not None
        if canceled:
            at = first_instant(order, ("cancelled_at", "updated_at"), "order") or fallback
            return {"type": "order.canceled", "occurred_at": stamp(at), "order": body}
        at = first_instant(order, ("updated_at",), "order") or fallback
        body.update(_order_details(order))
        # Only an explicit promise is re-sent: re-deriving one would move it when the settings change.
        local = _as_written(order.get("created_at") or order.get("processed_at"), at)
        explicit = self._promise_attribute_value(order, order_id, local)
        if explicit is not None:
            body["promised_by"] = stamp(explicit)
        return {"type": "order.updated", "occurred_at": stamp(at), "order": body}

    def _promise(self, order: Json, order_id: str, placed: datetime) -> datetime:
        """The note attribute, else the shipping line's business days, else the default days."""
        explicit = self._promise_attribute_value(order, order_id, placed)
        if explicit is not None:
            return explicit
        days = self._default_days
        lines = items(order, "shipping_lines")
        title = (text(lines[0], "title") or "").lower() if lines else ""
        if title in self._shipping_days:
            days = self._shipping_days[title]
        return _end_of_day(_add_business_days(placed.date(), days), placed)

    def _promise_attribute_value(self, order: Json, order_id: str, placed: datetime) -> datetime | None:
        for attribute in items(order, "note_attributes"):
            if (text(attribute, "name") or "").lower() != self._promise_attribute:
                continue
            value = text(attribute, "value") or ""
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                try:
                    return _end_of_day(date.fromisoformat(value), placed)
                except ValueError:
                    pass
            moment = opt_instant(value)
            if moment is not None:
                return moment
            # A typo in a merchant-entered note must not make Shopify retry (and drop) the webhook.
            log.warning("shopify order %s: unreadable promise note attribute; using the default rule", order_id)
        return None


def _as_written(value: Any, default: datetime) -> datetime:
    """The time at the offset it was written with: Shopify writes order times in the shop's zone."""
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return default
    return moment if moment.tzinfo is not None else default


def _add_business_days(start: date, days: int) -> date:
    """`days` working days (Monday to Friday) after `start`; from a weekend, counting starts on Monday."""
    if days <= 0:
        return start
    # From Saturday or Sunday the next working day is the same as from Friday.
    current = start - timedelta(days=max(0, start.weekday() - 4))
    weeks, rest = divmod(days, 5)
    current += timedelta(weeks=weeks)
    while rest:
        current += timedelta(days=1)
        if current.weekday() < 5:
            rest -= 1
    return current


def _end_of_day(day: date, placed: datetime) -> datetime:
    """23:59 on `day` at the offset of the order's own timestamp (Shopify writes it in the shop's zone)."""
    return datetime.combine(day, time(23, 59), tzinfo=placed.tzinfo)


def _customer(order: Json, order_id: str) -> Json:
    person = opt_obj(order, "customer")
    billing, shipping = opt_obj(order, "billing_address"), opt_obj(order, "shipping_address")
    # A guest checkout without a customer record still has a contact on the order.
    customer: Json = {"id": opaque_id(person.get("id")) or f"shopify-guest:{order_id}"}
    full = " ".join(part for part in (text(person, "first_name"), text(person, "last_name")) if part)
    name = full or text(billing, "name") or text(shipping, "name")
    email = text(person, "email") or text(order, "email", "contact_email")
    phone = _phone(person, order, shipping, billing)
    locale = text(order, "customer_locale")
    for field, value in (("name", name), ("email", email), ("phone", phone), ("locale", locale)):
        if value:
            customer[field] = value
    consent = _sms_consent(order, person)
    if consent is not None:
        customer["channels"] = (["email"] if email else []) + (["sms"] if consent and phone else [])
    return customer


def _phone(*sources: Json) -> str | None:
    """The first phone that is already E.164: an address's local format cannot be dialled safely."""
    for source in sources:
        raw = text(source, "phone")
        candidate = re.sub(r"[\s().-]", "", raw or "")
        if _E164.match(candidate):
            return candidate
    return None


def _sms_consent(order: Json, person: Json) -> bool | None:
    """True/False when Shopify states SMS consent; None when the payload says nothing (older shapes)."""
    consent = person.get("sms_marketing_consent")
    if isinstance(consent, dict) and isinstance(consent.get("state"), str):
        return bool(consent["state"] == "subscribed")
    flag = order.get("buyer_accepts_sms_marketing")
    return flag if isinstance(flag, bool) else None


def _order_details(order: Json) -> Json:
    details: Json = {}
    # The customer's own order status page (an https link only): messages link there, not to ours.
    page = link(order, "order_status_url")
    if page:
        details["order_url"] = page
    lines = []
    for line in items(order, "line_items"):
        name = text(line, "name", "title")
        # current_quantity leaves out items removed after the order was placed.
        quantity = next((q for q in (line.get("current_quantity"), line.get("quantity")) if _count(q)), 1)
        if name and quantity:
            lines.append({"name": name, "quantity": quantity})
    if lines:
        details["lines"] = lines
    # What the customer paid, in the currency they saw (presentment), else the shop's.
    shown = opt_obj(opt_obj(order, "total_price_set"), "presentment_money")
    for amount, currency in (
        (_amount(shown.get("amount")), text(shown, "currency_code")),
        (_amount(order.get("total_price")), text(order, "currency")),
    ):
        # Optional: an unreadable total is left out rather than refusing the order with it.
        if amount and currency and _DECIMAL.match(amount) and _CURRENCY.match(currency):
            details["total"] = {"amount": amount, "currency": currency.upper()}
            break
    name = text(order, "name")
    if name:
        details["name"] = name  # the "#1001" customers know; an extra field the engine keeps
    return details


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _amount(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None
