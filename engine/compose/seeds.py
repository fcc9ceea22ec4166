"""The seed templates shipped in `templates/`: file names, loading, choosing a set by locale, and a
realistic sample context to preview them with.

Layout: `templates/<situation>/<stage>.<part>[.<locale>].j2`; no locale suffix means English.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from engine.compose.render import PARTS_BY_CHANNEL, TemplateSet
from engine.detection.rules import TEMPLATE_STAGES
from engine.errors import TemplateError
from engine.vocabulary import Channel, SituationKind, Stage

# The kinds and stages templates exist for come from the detection rules (engine/detection/rules.py);
# the digest (the one message that carries several threads' news when the daily cap merges them) gets
# `digest.items` instead of one order or incident.
PARTS = ("subject", "text", "html", "sms")
FALLBACK_LOCALE = "en"

_FILE_NAME = re.compile(r"(?P<stage>[a-z_]+)\.(?P<part>[a-z]+)(?:\.(?P<locale>[A-Za-z0-9_-]+))?\.j2")
_LOCALE = re.compile(r"[a-z]{2,3}(?:-[A-Z]{2}|-[0-9]{3}|-[A-Z][a-z]{3})*")


class TemplateKey(NamedTuple):
    situation: str
    stage: str
    part: str
    locale: str  # "en" for files without a locale suffix


def normalize_locale(tag: str) -> str:
    """`pt_br`, `PT-BR` → `pt-BR`: the spelling template file names use."""
    pieces = tag.strip().replace("_", "-").split("-")
    head = pieces[0].lower()
    tail = [p.upper() if len(p) == 2 else p.title() if len(p) == 4 else p for p in pieces[1:]]
    return "-".join([head, *tail])


def locale_fallbacks(locale: str) -> list[str]:
    """The order templates are looked up in: `pt-BR` → `pt-BR`, `pt`, `en`."""
    chain: list[str] = []
    tag = normalize_locale(locale) if locale.strip() else FALLBACK_LOCALE
    pieces = tag.split("-")
    for end in range(len(pieces), 0, -1):
        candidate = "-".join(pieces[:end])
        if candidate not in chain:
            chain.append(candidate)
    if FALLBACK_LOCALE not in chain:
        chain.append(FALLBACK_LOCALE)
    return chain


def parse_template_path(root: Path, path: Path) -> TemplateKey:
    """Read the key out of a template's path, or say exactly what is wrong with the name."""
    relative = path.relative_to(root)
    expected = "templates/<situation>/<stage>.<part>[.<locale>].j2, e.g. shipment.delayed/initial.sms.pt-BR.j2"
    if len(relative.parts) != 2:
        raise TemplateError(f"{relative}: templates live one folder deep; expected {expected}")
    situation, name = relative.parts
    match = _FILE_NAME.fullmatch(name)
    if match is None:
        raise TemplateError(f"{relative}: malformed template file name; expected {expected}")
    stage, part, locale = match["stage"], match["part"], match["locale"]
    kind = next((known for known in TEMPLATE_STAGES if known == situation), None)
    if kind is None:
        raise TemplateError(f"{relative}: unknown situation {situation!r}; known: {', '.join(TEMPLATE_STAGES)}")
    if stage not in TEMPLATE_STAGES[kind]:
        raise TemplateError(f"{relative}: unknown stage {stage!r}; known: {', '.join(TEMPLATE_STAGES[kind])}")
    if part not in PARTS:
        raise TemplateError(f"{relative}: unknown part {part!r}; known: {', '.join(PARTS)}")
    if locale is None:
        locale = FALLBACK_LOCALE
    elif locale == FALLBACK_LOCALE:
        raise TemplateError(f"{relative}: English templates have no locale suffix; rename to {stage}.{part}.j2")
    elif not _LOCALE.fullmatch(locale):
        raise TemplateError(f"{relative}: locale {locale!r} is not a tag like 'pt-BR' or 'es'")
    return TemplateKey(situation, stage, part, locale)


def load_seed_templates(root: Path) -> dict[TemplateKey, str]:
    """Every `*.j2` under `root`, keyed by (situation, stage, part, locale); other files are ignored."""
    if not root.is_dir():
        raise TemplateError(f"template folder {root} does not exist")
    templates: dict[TemplateKey, str] = {}
    for path in sorted(root.rglob("*.j2")):
        if any(piece.startswith(".") for piece in path.relative_to(root).parts):
            continue
        key = parse_template_path(root, path)
        templates[key] = path.read_text(encoding="utf-8")
    return templates


def select_template_set(
    templates: Mapping[TemplateKey, str],
    *,
    situation: str,
    stage: str,
    locale: str,
    channel: Channel,
) -> TemplateSet:
    """The first locale in the fallback chain with every part the channel needs (never a mix)."""
    needed = PARTS_BY_CHANNEL[channel]
    chain = locale_fallbacks(locale)
    for candidate in chain:
        keys = [TemplateKey(situation, stage, part, candidate) for part in needed]
        if all(key in templates for key in keys):
            return TemplateSet(situation, stage, candidate, {k.part: templates[k] for k in keys})
    raise TemplateError(
        f"no {channel} templates for {situation}/{stage} in {' → '.join(chain)} (needs {', '.join(needed)})"
    )


def sample_context(
    situation: str,
    stage: str,
    *,
    locale: str = FALLBACK_LOCALE,
    now: datetime | None = None,
    exception: str | None = "weather",
) -> dict[str, Any]:
    """A realistic context for previewing and testing templates; a fresh dict each call, safe to edit.

    Mirrors the contract in docs/templates.md: order situations get an order and (except an order not
    yet shipped) a shipment; `service.disruption` gets an incident instead.
    """
    now = now or datetime(2026, 3, 12, 15, 0, tzinfo=UTC)  # a Thursday afternoon
    portuguese = locale.startswith("pt")
    resolved = stage == Stage.RESOLVED
    base = "https://acme.example"
    context: dict[str, Any] = {
        "customer": {
            "id": "C1",
            "name": "Ana Souza" if portuguese else "Ana Miller",
            "first_name": "Ana",
            "locale": locale,
            "timezone": "America/Sao_Paulo" if portuguese else "America/New_York",
        },
        "order": None,
        "shipment": None,
        "incident": None,
        "situation": {"kind": situation, "stage": stage, "opened_at": now - timedelta(hours=3)},
        "brand": {"name": "Acme", "support_email": "help@acme.example", "url": base},
        "links": {
            "tracking": None,
            "order": None,
            "orders": f"{base}/orders",
            "status_page": None,
            "unsubscribe": f"{base}/unsubscribe/tok-8f2a",
            "help": "mailto:help@acme.example",
        },
        "next_update_at": None if resolved else now + timedelta(hours=27),
        "now": now,
        "first_sms": True,
        "repeat": False,
    }
    if situation.startswith("service."):
        context["incident"] = _sample_incident(now, portuguese=portuguese, resolved=resolved)
        context["links"]["status_page"] = f"{base}/status"
        context["next_update_at"] = None if resolved else now + timedelta(hours=1)
        return context
    context["order"] = _sample_order(now, portuguese=portuguese)
    context["links"].update(tracking=f"{base}/t/A10042", order=f"{base}/orders/A10042")
    if situation == SituationKind.ORDER_LATE_TO_SHIP and not resolved:
        return context
    context["shipment"] = _sample_shipment(situation, stage, now, portuguese=portuguese, exception=exception)
    return context


def _sample_incident(now: datetime, *, portuguese: bool, resolved: bool) -> dict[str, Any]:
    return {
        "id": "INC-7",
        "title": "Erros no checkout" if portuguese else "Checkout errors",
        "components": ["checkout", "payments-api"],
        "services": ["checkout", "payments API"],
        "status": "operational" if resolved else "partial_outage",
        "message": None,
        "news": None,
        "started_at": now - timedelta(minutes=40),
        "resolved_at": now - timedelta(minutes=5) if resolved else None,
    }


def _sample_order(now: datetime, *, portuguese: bool) -> dict[str, Any]:
    name = "luminária de mesa" if portuguese else "desk lamp"
    return {
        "id": "A10042",
        "lines": [{"name": name[:1].upper() + name[1:], "quantity": 1}],
        "items": name,
        "items_title": name[:1].upper() + name[1:],
        "placed_at": now - timedelta(days=4),
        "promised_by": now + timedelta(days=1, hours=6),
        "total": {"amount": "109.29", "currency": "BRL" if portuguese else "USD"},
    }


def _sample_shipment(
    situation: str, stage: str, now: datetime, *, portuguese: bool, exception: str | None
) -> dict[str, Any]:
    resolved = stage == Stage.RESOLVED
    status = "exception" if situation == SituationKind.SHIPMENT_EXCEPTION else "in_transit"
    # The carrier's latest scan: the delivery itself once resolved; a stalled parcel last moved two days ago.
    if resolved:
        last_scan = now - timedelta(hours=2)
    elif situation == SituationKind.SHIPMENT_STALLED:
        last_scan = now - timedelta(days=2, hours=4)
    else:
        last_scan = now - timedelta(hours=1)
    return {
        "carrier": "correios" if portuguese else "ups",
        "carrier_name": "Correios" if portuguese else "UPS",
        "tracking_number": "QB123456789BR" if portuguese else "1Z999AA10123456784",
        "status": "delivered" if resolved else status,
        "exception": exception if situation == SituationKind.SHIPMENT_EXCEPTION else None,
        "location": "Campinas, SP" if portuguese else "Columbus, OH",
        "estimated_delivery_at": now + timedelta(days=5),
        "previous_estimated_delivery_at": now + timedelta(days=3) if stage == Stage.UPDATE else None,
        "delivered_at": now - timedelta(hours=2) if resolved else None,
        "last_scan_at": last_scan,
        "handed_over_at": now - timedelta(days=3),
    }


def sample_digest_context(
    kinds: tuple[str, ...] = (SituationKind.SHIPMENT_DELAYED, SituationKind.ORDER_LATE_TO_SHIP),
    *,
    locale: str = FALLBACK_LOCALE,
    now: datetime | None = None,
    exception: str | None = "weather",
) -> dict[str, Any]:
    """A realistic context for the `digest/merged` templates: one item per kind, each from that kind's
    own sample (a second order gets its own id and items), on top of the usual customer, brand and links."""
    context = sample_context(SituationKind.DIGEST, Stage.MERGED, locale=locale, now=now)
    context.update(order=None, shipment=None, incident=None, next_update_at=None)
    context["links"].update(tracking=None, order=None, status_page=None)
    portuguese = locale.startswith("pt")
    other_items = (
        ("tênis de corrida", "moedor de café", "mochila")
        if portuguese
        else (
            "trail running shoes",
            "coffee grinder",
            "backpack",
        )
    )
    items: list[dict[str, Any]] = []
    for index, kind in enumerate(kinds):
        single = sample_context(kind, "initial", locale=locale, now=now, exception=exception)
        if single["order"] is not None and index > 0:
            name = other_items[(index - 1) % len(other_items)]
            order_id = f"A2004{index}"
            single["order"].update(
                id=order_id, items=name, items_title=name[:1].upper() + name[1:], lines=[{"name": name, "quantity": 1}]
            )
            single["links"].update(
                tracking=f"https://acme.example/t/{order_id}", order=f"https://acme.example/orders/{order_id}"
            )
        items.append(
            {
                "kind": kind,
                "stage": "initial",
                "order": single["order"],
                "shipment": single["shipment"],
                "incident": single["incident"],
                "links": {name: single["links"][name] for name in ("tracking", "order", "status_page")},
                "opened_at": single["situation"]["opened_at"],
            }
        )
    context["digest"] = {"count": len(items), "items": items}
    return context
