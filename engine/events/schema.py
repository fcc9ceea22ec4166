"""Validate canonical events; a wrong shape is an InvalidEvent that says what is wrong and where."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from engine.clock import as_utc, parse_instant
from engine.errors import InvalidEvent
from engine.links.build import safe_link
from engine.vocabulary import Channel

EventType = Literal[
    "customer.upserted", "order.created", "order.updated", "order.canceled", "shipment.updated", "service.status"
]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)
# The object each type of event carries (DESIGN §3).
BODY_OF: dict[EventType, str] = {
    "customer.upserted": "customer",
    "order.created": "order",
    "order.updated": "order",
    "order.canceled": "order",
    "shipment.updated": "shipment",
    "service.status": "service",
}
SHIPMENT_STATUSES = (
    "label_created",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "exception",
    "returned",
    "lost",
)
SERVICE_STATUSES = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
)


def _feed_link(value: Any) -> str | None:
    """Only an https link is kept; any other (javascript:, http:, …) is dropped, not the whole event."""
    return safe_link(value)


class _Open(BaseModel):
    # Unknown fields are kept and ignored (contract).
    model_config = ConfigDict(extra="allow")


def _instant(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return parse_instant(value)
        except ValueError as exc:
            raise ValueError(f"not an RFC 3339 time with offset: {value!r}") from exc
    if isinstance(value, datetime):
        return as_utc(value)
    return value


def _one_mailbox(value: str) -> None:
    """One address and nothing else: "victim@example.com, evil@attacker.test" would put two in To:."""
    from email_validator import EmailNotValidError, validate_email

    try:
        # Syntax only (no DNS: the engine must not wait on a lookup); special-use domains are allowed so
        # tests and staging can use example.com and *.test.
        validate_email(value.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValueError(f"not one valid email address: {exc}") from None


def _e164(value: str) -> None:
    """A number in international form (+ and the country code), spaces and dashes allowed."""
    import phonenumbers

    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number in international form (+ and the country code)") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError("not a possible phone number in international form")


_ADDRESS_CHECKS: dict[str, Callable[[str], None]] = {"email": _one_mailbox, "phone": _e164}


class CustomerRef(_Open):
    id: str = Field(min_length=1, max_length=128)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    locale: str | None = Field(default=None, max_length=16)
    timezone: str | None = None
    components: list[str] | None = None
    channels: list[Channel] | None = None
    quiet_hours: str | None = Field(default=None, max_length=16)

    @field_validator("id", mode="before")
    @classmethod
    def _opaque_id(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("email", "phone")
    @classmethod
    def _one_address(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A blank address is no address (left as sent); any other must be exactly one of its kind."""
        if value is not None and value.strip():
            _ADDRESS_CHECKS[info.field_name or ""](value)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class OrderLine(_Open):
    name: str
    quantity: int = 1


class Money(_Open):
    amount: str = Field(min_length=1, max_length=32)
    currency: str = Field(min_length=1, max_length=8)

    @field_validator("amount", mode="before")
    @classmethod
    def _amount_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value


class OrderBody(_Open):
    id: str = Field(min_length=1, max_length=128)
    customer: CustomerRef | None = None
    placed_at: datetime | None = None
    promised_by: datetime | None = None
    ship_by: datetime | None = None
    lines: list[OrderLine] | None = None
    total: Money | None = None
    # Extensions (DESIGN §3 grows): the merchant's order page for the customer (Shopify's order_status_url).
    order_url: str | None = None

    _times = field_validator("placed_at", "promised_by", "ship_by", mode="before")(_instant)
    _link = field_validator("order_url", mode="before")(_feed_link)

    @field_validator("id", mode="before")
    @classmethod
    def _opaque_id(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class ShipmentBody(_Open):
    order_id: str = Field(min_length=1, max_length=128)
    carrier: str = Field(default="", max_length=64)
    tracking_number: str = Field(default="", max_length=128)
    status: Literal["label_created", "in_transit", "out_for_delivery", "delivered", "exception", "returned", "lost"]
    estimated_delivery_at: datetime | None = None
    exception: str | None = Field(default=None, max_length=32)
    location: str | None = None
    message: str | None = None
    # Extension: the carrier's (or tracking service's) page for this parcel.
    tracking_url: str | None = None

    _times = field_validator("estimated_delivery_at", mode="before")(_instant)
    _link = field_validator("tracking_url", mode="before")(_feed_link)

    @field_validator("order_id", "tracking_number", mode="before")
    @classmethod
    def _opaque_id(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class ServiceBody(_Open):
    component: str = Field(min_length=1, max_length=128)
    status: Literal["operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"]
    incident_id: str | None = Field(default=None, max_length=128)
    title: str = ""
    message: str | None = None


class CanonicalEvent(_Open):
    id: str = Field(min_length=1, max_length=200)
    type: EventType
    occurred_at: datetime
    received_at: datetime | None = None
    customer: CustomerRef | None = None
    order: OrderBody | None = None
    shipment: ShipmentBody | None = None
    service: ServiceBody | None = None

    _times = field_validator("occurred_at", "received_at", mode="before")(_instant)

    def missing_body(self) -> str | None:
        """Why the event's body is not enough for its type, or None when it is."""
        needed = BODY_OF[self.type]
        if getattr(self, needed) is None:
            return f"{self.type} needs an object named '{needed}'"
        if self.type == "order.created":
            assert self.order is not None
            if self.order.customer is None:
                return "order.created needs order.customer with an id"
            if self.order.promised_by is None:
                return "order.created needs order.promised_by"
        return None

    @property
    def customer_id(self) -> str | None:
        if self.customer is not None:
            return self.customer.id
        if self.order is not None and self.order.customer is not None:
            return self.order.customer.id
        return None

    @property
    def order_id(self) -> str | None:
        if self.order is not None:
            return self.order.id
        if self.shipment is not None:
            return self.shipment.order_id
        return None


def parse_event(raw: Any, *, position: int | None = None) -> CanonicalEvent:
    """Validate one decoded JSON value as a canonical event."""
    where = f"event #{position}" if position is not None else "event"
    if not isinstance(raw, dict):
        raise InvalidEvent(f"{where}: expected a JSON object, got {type(raw).__name__}")
    bad = _nul_field(raw)
    if bad is not None:
        # PostgreSQL cannot store NUL in text; no real id or name has one.
        raise InvalidEvent(f"{where}: {bad} contains a NUL character (\\u0000)")
    try:
        event = CanonicalEvent.model_validate(raw)
    except ValidationError as exc:
        raise InvalidEvent(f"{where} ({raw.get('id', 'no id')}): {_describe(exc)}") from None
    problem = event.missing_body()
    if problem:
        raise InvalidEvent(f"{where} ({event.id}): {problem}")
    return event


def _nul_field(value: Any) -> str | None:
    """The path of the first string (key or value) holding a NUL character, if any."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                where = f"{path}.{key}" if path else str(key)
                if "\x00" in str(key):
                    return where
                stack.append((where, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{index}]", child) for index, child in enumerate(item))
    return None


def parse_events(raw: Any) -> list[CanonicalEvent]:
    """One object or a list of objects; all valid or nothing (a request is accepted whole)."""
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise InvalidEvent("the list of events is empty")
    return [parse_event(item, position=i if isinstance(raw, list) else None) for i, item in enumerate(items)]


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        location = ".".join(str(p) for p in error["loc"]) or "body"
        message = error["msg"]
        if error["type"] == "literal_error":
            message = f"must be one of {error.get('ctx', {}).get('expected', '')}"
        parts.append(f"{location}: {message}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
