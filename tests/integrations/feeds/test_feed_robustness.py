"""Every feed, every real sample, systematically mangled and posted through the app: never a 5xx.

Outside parties post real vendor payloads we have never seen: older and newer shapes, optional fields
missing or null, a string where an object was, unknown extra fields. Each sample below is mutated one
field at a time (removed; null; wrong JSON type; empty, blank, huge, NUL-bearing or non-UTF-8-safe
text; a number out of range) plus whole-body garbage, signed correctly where the vendor signs, and
posted to the real endpoint. The answer must be 202 (accepted or ignored) or 400 with a message that
says why; a 5xx, or a 400 without a reason, is a bug. The events that were accepted are then applied
by the engine, which must not fail on any of them either.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import builders, paths
from support.pipeline import drain

from engine.api.app import create_app
from engine.errors import InvalidEvent
from engine.events.schema import parse_event
from engine.inbound.feed import WebhookRequest
from engine.inbound.service import store_events
from engine.runtime import Runtime
from integrations.feeds import build_feeds
from integrations.feeds._common import canonical
from integrations.feeds.events import decode_json

FIXTURES = paths.FIXTURES
T0 = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)  # the `clock` fixture's start
HUGE = "A" * 20_000  # far over every column the engine stores text in (the largest is 2000)
DEEP = b"[" * 100_000 + b"]" * 100_000  # nested past any parser's recursion limit
MAX_PATHS = 400  # per sample, so the whole test stays fast

Json = Any
Sign = Callable[[bytes], dict[str, str]]


def shopify(topic: str) -> Sign:
    def sign(body: bytes) -> dict[str, str]:
        mac = base64.b64encode(hmac.new(b"shopify-test-secret", body, hashlib.sha256).digest()).decode()
        # One delivery id per sample, as Shopify's retries of one delivery carry: the mangled copies then
        # dedupe instead of each being applied (the PostgreSQL run applies them under ids of their own).
        return {"X-Shopify-Hmac-Sha256": mac, "X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": f"fuzz-{topic}"}

    return sign


def easypost(body: bytes) -> dict[str, str]:
    key = unicodedata.normalize("NFKD", "sécret").encode()
    return {"X-Hmac-Signature": "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()}


def aftership(body: bytes) -> dict[str, str]:
    mac = base64.b64encode(hmac.new(b"aftership-test-secret", body, hashlib.sha256).digest()).decode()
    return {"aftership-hmac-sha256": mac}


def pagerduty(body: bytes) -> dict[str, str]:
    return {"X-PagerDuty-Signature": "v1=" + hmac.new(b"pagerduty-test-secret", body, hashlib.sha256).hexdigest()}


def statuspage(body: bytes) -> dict[str, str]:
    return {"Authorization": "Bearer statuspage-test-token"}


def alertmanager(body: bytes) -> dict[str, str]:
    return {"Authorization": "Bearer alertmanager-test-token"}


def events(body: bytes) -> dict[str, str]:
    # Standard Webhooks: signed for the simulated clock's "now" (the `clock` fixture's T0).
    _, headers = builders.signed(body, now=T0)
    return headers


def canonical_trace() -> Json:
    """One of each canonical event, as DESIGN §3 shows them (a list in one delivery)."""
    return [
        builders.customer_upserted(T0),
        builders.order_created(T0),
        builders.shipment(T0, "in_transit", estimated_delivery_at="2026-03-06T12:00:00Z", location="Memphis, TN"),
        {
            "id": "evt-svc-1",
            "type": "service.status",
            "occurred_at": "2026-03-03T17:00:00Z",
            "service": {"component": "checkout", "status": "major_outage", "incident_id": "INC-7", "title": "Down"},
        },
    ]


def load(name: str) -> Json:
    return json.loads((FIXTURES / name).read_text())


def with_service_label(data: Json) -> Json:
    # The zulip samples have no component label, so no alert would map: give them one to reach the mapping.
    for alert in data.get("alerts", []):
        alert["labels"]["service"] = "checkout"
    return data


class TopLevel(dict[str, Any]):
    """A sample whose nested fields are left alone (only its own fields are mutated)."""


def top_level(data: Json) -> Json:
    return TopLevel(data)


def aftership_sample() -> Json:
    return load("vendor/aftership_tracking_update_exception.json")


# (source, sample name, base body, signer)
SAMPLES: list[tuple[str, str, Callable[[], Json], Sign]] = [
    ("shopify", "orders/create", lambda: load("payloads/shopify_orders_create.json"), shopify("orders/create")),
    # orders/updated and orders/cancelled read the same nested parts as orders/create (mangled in full
    # above): their own top-level fields are enough here, and keep the test fast.
    (
        "shopify",
        "orders/updated",
        lambda: top_level(load("payloads/shopify_orders_create.json")),
        shopify("orders/updated"),
    ),
    (
        "shopify",
        "orders/cancelled",
        lambda: top_level(load("vendor/shopify_orders_cancelled.json")),
        shopify("orders/cancelled"),
    ),
    (
        "shopify",
        "fulfillments/update",
        lambda: load("payloads/shopify_fulfillments_update.json"),
        shopify("fulfillments/update"),
    ),
    (
        "shopify",
        "fulfillment_events/create",
        lambda: load("payloads/shopify_fulfillment_events_create.json"),
        shopify("fulfillment_events/create"),
    ),
    ("easypost", "tracker.updated", lambda: load("payloads/easypost_tracker_updated_fixture.json"), easypost),
    ("aftership", "tracking_update", aftership_sample, aftership),
    ("aftership", "edd_revise", lambda: load("vendor/aftership_edd_revise.json"), aftership),
    ("statuspage", "incident", lambda: load("payloads/statuspage_incident_created_identified.json"), statuspage),
    ("statuspage", "incident resolved", lambda: load("vendor/statuspage_incident_resolved.json"), statuspage),
    ("statuspage", "component", lambda: load("vendor/statuspage_component_update.json"), statuspage),
    (
        "alertmanager",
        "firing",
        lambda: with_service_label(load("payloads/alertmanager_v4_firing.json")),
        alertmanager,
    ),
    (
        "alertmanager",
        "resolved",
        lambda: with_service_label(load("vendor/alertmanager_v4_single_resolved.json")),
        alertmanager,
    ),
    ("pagerduty", "triggered", lambda: load("payloads/pagerduty_v3_incident_triggered.json"), pagerduty),
    ("pagerduty", "resolved", lambda: load("vendor/pagerduty_v3_incident_resolved.json"), pagerduty),
    ("pagerduty", "annotated", lambda: load("vendor/pagerduty_v3_incident_annotated.json"), pagerduty),
    ("events", "canonical trace", canonical_trace, events),
]

# What a field may be replaced by: null, the wrong JSON types, and the awkward values of its own type.
WRONG_TYPES: dict[type, list[Json]] = {
    dict: ["x", ["a", "list"]],
    list: ["x", {"an": "object"}],
    str: [{"an": "object"}, 0, "", HUGE, "lone surrogate \ud800", "0000-00-00"],
    int: ["x", -1, 10**30, True],
    float: ["x", 10**30],
    bool: ["x", {"an": "object"}],
    type(None): ["x", {"an": "object"}, ["a", "list"], 0, HUGE],
}
# NUL, which SQLite stores but PostgreSQL refuses, is tried in the PostgreSQL run (see `mutations`).


def paths(value: Json, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every field path; of a list, its first item (the rest repeat the same shape).

    Shopify's many money sets (`price_set: {shop_money: {...}, presentment_money: {...}}`) share one
    shape: only `total_price_set`, which the adapter reads, is entered; the others are mutated whole.
    """
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            if not (str(key).endswith("_set") and key != "total_price_set"):
                yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:1]):
            yield (*prefix, index)
            yield from paths(child, (*prefix, index))


def _parent(doc: Json, path: tuple[Any, ...]) -> Json:
    for step in path[:-1]:
        doc = doc[step]
    return doc


def mutations(base: Json, *, full: bool = True) -> Iterator[tuple[str, bytes]]:
    """(description, body) pairs: the sample, then one change at a time.

    Not `full`: only what a stricter database refuses where SQLite does not (text longer than its
    column, NUL characters), for the PostgreSQL run.
    """
    shallow = isinstance(base, TopLevel)
    base = dict(base) if shallow else base
    yield "unchanged", json.dumps(base).encode()
    for garbage in (b"", b"   ", b"not json", b"{", b"null", b"[]", b'"text"', b"42", b"\xff\xfe\x00", b"[{}]", DEEP):
        yield f"body {garbage[:20]!r}", garbage
    yield "body as a list of itself", json.dumps([base]).encode()
    everywhere = copy.deepcopy(base)
    for path in [(), *paths(base)]:
        target = everywhere
        for step in path:
            target = target[step]
        if isinstance(target, dict):
            target["x_unknown_field"] = {"nested": [1, None, "two"]}
    yield "unknown fields in every object", json.dumps(everywhere).encode()
    for path in [path for path in paths(base) if not shallow or len(path) == 1][:MAX_PATHS]:
        value = _parent(base, path)[path[-1]]
        if not full:
            for replacement in (HUGE, "nul\x00inside") if isinstance(value, str) else ():
                changed = copy.deepcopy(base)
                _parent(changed, path)[path[-1]] = replacement
                yield f"{_show(path)} = {_short(replacement)}", json.dumps(changed).encode()
            continue
        removed = copy.deepcopy(base)
        del _parent(removed, path)[path[-1]]
        yield f"{_show(path)} removed", json.dumps(removed).encode()
        for replacement in [None, *WRONG_TYPES[type(value)]] if value is not None else WRONG_TYPES[type(None)]:
            changed = copy.deepcopy(base)
            _parent(changed, path)[path[-1]] = replacement
            yield f"{_show(path)} = {_short(replacement)}", json.dumps(changed).encode()


def _show(path: tuple[Any, ...]) -> str:
    return ".".join(str(step) for step in path)


def _short(value: Json) -> str:
    text = repr(value)
    return text if len(text) < 40 else text[:37] + "..."


@pytest.fixture
def lenient_client(rt: Runtime) -> Iterator[TestClient]:
    """The real app, answering a crash with its 500 instead of raising it into the test."""
    app = create_app(rt, feeds=build_feeds(rt.settings))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("source", sorted({source for source, *_ in SAMPLES}))
def test_mangled_real_samples_never_get_a_5xx(source: str, lenient_client: TestClient, rt: Runtime) -> None:
    failures: list[str] = []
    accepted = 0
    full = not rt.settings.database_url.startswith("postgresql")
    readable: list[tuple[bytes, dict[str, str]]] = []
    for _, name, base, sign in (sample for sample in SAMPLES if sample[0] == source):
        for description, body in mutations(base(), full=full):
            response = lenient_client.post(f"/webhooks/{source}", content=body, headers=sign(body))
            where = f"{name}: {description} -> {response.status_code}"
            if response.status_code >= 500:
                failures.append(f"{where} {response.text[:200]}")
            elif response.status_code == 400:
                error = response.json().get("detail")
                if not (isinstance(error, str) and error.strip()):
                    failures.append(f"{where} without a reason")
            elif response.status_code != 202:
                failures.append(f"{where} {response.text[:200]}")
            else:
                accepted += response.json()["accepted"]
            if not full and response.status_code == 202:
                readable.append((body, sign(body)))
        # The same sample with its proof tampered with, missing, or not ASCII: 401, whatever the body.
        body = json.dumps(dict(base()) if isinstance(base(), TopLevel) else base()).encode()
        good = sign(body)
        for forged in (
            {k: v if k.lower().startswith("x-shopify-topic") else v[:-4] + "AAA=" for k, v in good.items()},
            {k: v for k, v in good.items() if k.lower() == "x-shopify-topic"},
            {k: v if k.lower().startswith("x-shopify-topic") else "sécret" for k, v in good.items()},
        ):
            raw_headers = {k: v.encode("utf-8") for k, v in forged.items()}  # raw bytes: non-ASCII as sent
            response = lenient_client.post(f"/webhooks/{source}", content=body, headers=raw_headers)
            if response.status_code != 401:
                failures.append(f"{name}: forged {forged} -> {response.status_code}")
    assert not failures, f"{len(failures)} bad answers:\n" + "\n".join(failures[:60])
    assert accepted > 0  # the unchanged samples (at least) went in
    # A mangled delivery usually keeps its sample's ids, so it was stored as a duplicate and never applied.
    # On PostgreSQL (whose columns and text are strict) apply each one's events under ids of their own too.
    feed = build_feeds(rt.settings)[source]
    events = []
    for n, (body, headers) in enumerate(readable):
        request = WebhookRequest(
            headers={k.lower(): v for k, v in headers.items()}, query={}, body=body, received_at=T0
        )
        events += [event.model_copy(update={"id": f"m{n}:{event.id}"[:200]}) for event in feed.parse(request)]
    with rt.unit_of_work() as session:
        store_events(session, source=source, events=events, received_at=T0, queue=False)
    drain(rt)  # whatever was accepted, the engine applies without failing


def test_text_that_cannot_be_stored_is_refused_or_cleaned() -> None:
    assert decode_json(b'{"name": "\\ud83d\\ude00"}') == {"name": "\U0001f600"}  # a real pair is fine
    with pytest.raises(InvalidEvent, match="unpaired UTF-16 surrogate"):
        decode_json(b'{"name": "\\ud83d"}')
    with pytest.raises(InvalidEvent, match="nested too deeply"):
        decode_json(DEEP)
    event = builders.shipment(T0, "in_transit", location="Mem\x00phis")
    with pytest.raises(InvalidEvent, match=r"shipment.location contains a NUL"):
        parse_event(copy.deepcopy(event))  # the canonical feed: refused, naming the field
    (cleaned,) = canonical("easypost", [copy.deepcopy(event)])  # a vendor's free text: cleaned
    assert cleaned.shipment is not None and cleaned.shipment.location == "Memphis"
    event["shipment"]["order_id"] = "A\x001001"
    with pytest.raises(InvalidEvent, match=r"easypost: .*shipment.order_id contains a NUL"):
        canonical("easypost", [event])  # an id is never altered: refused
