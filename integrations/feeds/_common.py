"""Helpers the vendor feeds share: signatures, tokens, JSON shape checks, ids, times and names."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from engine.clock import format_instant, parse_instant
from engine.errors import InvalidEvent, SignatureError
from engine.events.schema import CanonicalEvent, parse_event
from engine.inbound.feed import WebhookRequest
from engine.links.build import safe_link
from integrations.feeds.events import decode_json

Json = dict[str, Any]


def hmac_sha256(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()


def same(expected: str, given: str) -> bool:
    """Constant-time text comparison (ASCII only, so a non-ASCII header cannot raise)."""
    return hmac.compare_digest(expected.encode(), given.encode("ascii", "replace"))


def verify_base64_hmac(secret: str, request: WebhookRequest, header: str) -> None:
    """`header` must carry base64(HMAC-SHA256(secret, raw body)), as Shopify and AfterShip send it."""
    given = request.headers.get(header.lower(), "").strip()
    if not given:
        raise SignatureError(f"missing {header} header")
    expected = base64.b64encode(hmac_sha256(secret.encode(), request.body)).decode()
    if not same(expected, given):
        raise SignatureError(f"{header} does not match the body")


def verify_token(token: str, request: WebhookRequest) -> None:
    """Unsigned sources prove themselves with `?token=` or `Authorization: Bearer`."""
    given = request.query.get("token", "")
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if not given and scheme.lower() == "bearer":
        given = credentials.strip()
    if not given:
        raise SignatureError("missing token: send ?token=… or Authorization: Bearer …")
    if not same(token, given):
        raise SignatureError("token does not match")


def decode_object(body: bytes) -> Json:
    value = decode_json(body)
    if not isinstance(value, dict):
        raise InvalidEvent(f"body must be a JSON object, got {type(value).__name__}")
    return value


def obj(parent: Mapping[str, Any], key: str, where: str) -> Json:
    """A required nested object."""
    value = parent.get(key)
    if not isinstance(value, dict):
        raise InvalidEvent(f"{where}.{key}: expected an object, got {_kind(value)}")
    return value


def opt_obj(parent: Mapping[str, Any], key: str) -> Json:
    """An optional nested object; absent or null is an empty one."""
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def items(parent: Mapping[str, Any], key: str) -> list[Json]:
    """The objects of an optional list, ignoring anything that is not an object."""
    value = parent.get(key)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def text(parent: Mapping[str, Any], *keys: str) -> str | None:
    """The first non-empty string among `keys`, stripped."""
    for key in keys:
        value = parent.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def link(parent: Mapping[str, Any], *keys: str) -> str | None:
    """The first https link among `keys` (a string, or the first of a list of strings); others are dropped."""
    for key in keys:
        value = parent.get(key)
        for candidate in value if isinstance(value, list) else [value]:
            found = safe_link(candidate)
            if found:
                return found
    return None


def opaque_id(value: Any) -> str | None:
    """Vendor ids as text; Shopify's exceed 2**53, so never round-trip them through float."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def required_id(parent: Mapping[str, Any], key: str, where: str) -> str:
    found = opaque_id(parent.get(key))
    if found is None:
        raise InvalidEvent(f"{where}.{key}: missing or not an id (got {_kind(parent.get(key))})")
    return found


def instant(value: Any, where: str) -> datetime:
    """An RFC 3339 time with offset; anything else is an InvalidEvent naming the field."""
    if not isinstance(value, str):
        raise InvalidEvent(f"{where}: expected an RFC 3339 time, got {_kind(value)}")
    try:
        return parse_instant(value)
    except ValueError:
        raise InvalidEvent(f"{where}: not an RFC 3339 time with offset: {value[:40]!r}") from None


def first_instant(parent: Mapping[str, Any], keys: Iterable[str], where: str) -> datetime | None:
    """The first of `keys` that is set, as a time; a set but unreadable one is an InvalidEvent."""
    for key in keys:
        if parent.get(key) is not None:
            return instant(parent.get(key), f"{where}.{key}")
    return None


def opt_instant(value: Any) -> datetime | None:
    """A time if it is readable, else None: for optional fields that must not sink a delivery."""
    if isinstance(value, str) and value.strip():
        try:
            moment = parse_instant(value)
        except ValueError:
            return None
        # Alertmanager's "not ended" is 0001-01-01T00:00:00Z: not a real moment.
        return moment if moment.year > 1 else None
    return None


def date_or_instant(value: Any) -> datetime | None:
    """A carrier estimate: a full time with offset, or a bare date read as that day's midday UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if len(value) == 10:
        try:
            return day_estimate(date.fromisoformat(value))
        except ValueError:
            return None
    moment = opt_instant(value)
    if moment is None and re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?", value):
        # Carrier-local with no offset (AfterShip documents YYYY-MM-DDTHH:mm:ss as one of its formats):
        # the zone is unknown, the day is not, so it is read as that day like a date-only estimate.
        try:
            return day_estimate(date.fromisoformat(value[:10]))
        except ValueError:
            return None
    return moment


def day_estimate(day: date) -> datetime:
    """A date-only estimate as a moment: 12:00 UTC that day."""
    # Midday UTC is the same calendar day from UTC-11 to UTC+11, so comparing it with an end-of-day
    # promise anywhere there is right; midnight would make a day-late parcel look on time west of UTC.
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return format_instant(moment)


def slug(name: str) -> str:
    """A display name as a component name: "Management Portal (example)" → "management-portal-example"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()  # "Café" → "Cafe"
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def digest(*parts: str | bytes, length: int = 32) -> str:
    """A short stable hash, for dedupe keys when a vendor sends no id of its own."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode())
        h.update(b"\x00")
    return h.hexdigest()[:length]


def key_part(value: str, limit: int = 100) -> str:
    """A vendor id inside an event id, hashed if absurdly long (event ids are at most 200 characters)."""
    return value if len(value) <= limit else digest(value)


# Column sizes the engine stores these in: ids beyond them are refused (cutting would merge two),
# free text is cut, so a long vendor string can never fail a database write.
ID_LIMIT = 128
ID_FIELDS = {
    "customer": ("id",),
    "order": ("id",),
    "shipment": ("order_id", "tracking_number"),
    "service": ("component", "incident_id"),
}
TEXT_LIMITS = {
    "customer": {"name": 200, "email": 320, "locale": 16},
    "order": {"name": 200},
    "shipment": {"carrier": 64, "location": 200, "message": 500},
    "service": {"title": 300, "message": 2000},
}


def canonical(source: str, raws: Iterable[Json]) -> list[CanonicalEvent]:
    """Validate built event dicts; a failure names the source, since the vendor payload was the cause."""
    events = []
    for position, raw in enumerate(raws):
        try:
            _fit(raw)
            events.append(parse_event(raw, position=position))
        except InvalidEvent as exc:
            raise InvalidEvent(f"{source}: {exc}") from None
    return events


def _fit(raw: Json) -> None:
    _strip_nul(raw)
    order = raw.get("order")
    bodies = {key: raw.get(key) for key in ID_FIELDS}
    if isinstance(order, dict):
        bodies["order.customer"] = order.get("customer")
    for where, body in bodies.items():
        if not isinstance(body, dict):
            continue
        section = where.rsplit(".", 1)[-1]
        for key in ID_FIELDS[section]:
            value = body.get(key)
            if isinstance(value, str) and len(value) > ID_LIMIT:
                raise InvalidEvent(f"{where}.{key} is longer than {ID_LIMIT} characters")
        for key, limit in TEXT_LIMITS[section].items():
            value = body.get(key)
            if isinstance(value, str) and len(value) > limit:
                body[key] = value[: limit - 1] + "…"


def _strip_nul(body: Json) -> None:
    """NUL characters out of free text (PostgreSQL cannot store them); ids keep theirs and are refused."""
    ids = {key for keys in ID_FIELDS.values() for key in keys} | {"id"}
    for key, value in body.items():
        if isinstance(value, str) and key not in ids and "\x00" in value:
            body[key] = value.replace("\x00", "")
        elif isinstance(value, dict):
            _strip_nul(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    _strip_nul(item)


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
