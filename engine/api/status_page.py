"""GET /s/{token}: a customer's status page; GET|POST /s/{token}/address: the address form.

No login: the signed token is the key (engine/links/tokens.py). A forged or unknown token is a friendly
404 page, never a 500. Mobile-first plain HTML, no scripts, a strict CSP, nothing cached, no referrer (the
token must not leak to another site). Links of older messages (`/t/…`, `/orders…`, `/status`) answer a
friendly page too: nothing a customer can click is a bare 404.
"""

from __future__ import annotations

import hashlib
from html import escape
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from engine.api.deps import RuntimeDep
from engine.clock import format_instant
from engine.events.schema import parse_event
from engine.inbound.service import store_events
from engine.links import pages
from engine.links.tokens import Page, read_token
from engine.links.words import WORDS, words_for
from engine.models import Customer, Order
from engine.runtime import Runtime
from engine.vocabulary import FeedSource

router = APIRouter(tags=["status page"], include_in_schema=False)

_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:0 auto;padding:1.25rem;line-height:1.5;"
    "color:#222}h1{font-size:1.35rem}a.button,button{display:inline-block;padding:.75rem 1.1rem;"
    "background:#1f5fbf;color:#fff;text-decoration:none;border-radius:4px;border:0;font-size:1rem}"
    "label{display:block;margin:.75rem 0 .25rem}input{width:100%;box-sizing:border-box;padding:.6rem;"
    "font-size:1rem}footer{margin-top:2rem;font-size:.9rem;color:#555}"
)
_FIELDS = ("line1", "line2", "city", "postal_code", "region", "country")
_REQUIRED = ("line1", "city", "postal_code", "country")
MAX_FIELD = 200


def _html(locale: str, title: str, body: str, code: int = 200) -> HTMLResponse:
    page = (
        f'<!doctype html><html lang="{escape(locale)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(page, status_code=code, headers=_HEADERS)


def _view(view: pages.View) -> HTMLResponse:
    body = f"<p>{escape(view.greeting)}</p>" if view.greeting else ""
    body += "".join(f"<p>{escape(line)}</p>" for line in view.lines)
    body += "".join(f'<p><a class="button" href="{escape(url)}">{escape(label)}</a></p>' for label, url in view.links)
    if view.footer:
        body += f"<footer>{escape(view.footer)}</footer>"
    return _html(view.locale, view.title, body)


def _not_found(locale: str = "en", code: int = 404) -> HTMLResponse:
    words = words_for(locale)
    return _html(locale, words["gone"], f"<p>{escape(words['gone_text'])}</p>", code)


def _language(request: Request) -> str:
    """The reader's language from Accept-Language, among the five the messages speak."""
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip()
        if tag[:2].lower() in WORDS:
            return "pt-BR" if tag[:2].lower() == "pt" else tag[:2].lower()
    return "en"


_NOT_OURS: dict[int | str, dict[str, Any]] = {404: {"description": "not a link we made", "content": {"text/html": {}}}}


@router.get("/s/{token}", response_class=HTMLResponse, responses=_NOT_OURS)
def status_page(token: str, request: Request, rt: RuntimeDep) -> HTMLResponse:
    read = read_token(rt.settings.secret_key, token) if len(token) <= 300 else None
    if read is None:
        return _not_found(_language(request))
    page, ref = read
    with rt.unit_of_work() as session:
        now = rt.clock.now()
        if page == Page.ORDER:
            view = pages.order_page(session, rt.settings, ref, now=now)
        elif page == Page.INCIDENT:
            view = pages.incident_page(session, rt.settings, ref, locale=_language(request))
        else:
            view = pages.customer_page(session, rt.settings, ref)
    return _view(view) if view is not None else _not_found(_language(request))


def _order_for(rt: Runtime, token: str) -> tuple[Order, str] | None:
    read = read_token(rt.settings.secret_key, token) if len(token) <= 300 else None
    if read is None or read[0] != Page.ORDER:
        return None
    with rt.unit_of_work() as session:
        order = session.get(Order, read[1])
        if order is None:
            return None
        customer = session.get(Customer, order.customer_id)
        return order, customer.locale if customer else "en"


def _form(locale: str, token: str, values: dict[str, str], error: str | None = None) -> str:
    words = words_for(locale)
    body = f"<p>{escape(words['form_intro'])}</p>"
    if error:
        body += f'<p role="alert"><strong>{escape(error)}</strong></p>'
    body += f'<form method="post" action="/s/{escape(token)}/address">'
    for name in _FIELDS:
        required = " required" if name in _REQUIRED else ""
        body += (
            f'<label for="{name}">{escape(words[name])}</label>'
            f'<input id="{name}" name="{name}" maxlength="{MAX_FIELD}" '
            f'value="{escape(values.get(name, ""))}"{required}>'
        )
    body += f'<p><button type="submit">{escape(words["send"])}</button></p></form>'
    return body


@router.get("/s/{token}/address", response_class=HTMLResponse, responses=_NOT_OURS)
def address_form(token: str, request: Request, rt: RuntimeDep) -> HTMLResponse:
    found = _order_for(rt, token)
    if found is None:
        return _not_found(_language(request))
    locale = found[1]
    return _html(locale, words_for(locale)["address"], _form(locale, token, {}))


@router.post("/s/{token}/address", response_class=HTMLResponse, responses=_NOT_OURS)
async def address_sent(token: str, request: Request, rt: RuntimeDep) -> HTMLResponse:
    found = _order_for(rt, token)
    if found is None:
        return _not_found(_language(request))
    order, locale = found
    words = words_for(locale)
    raw = (await request.body())[:8192].decode("utf-8", "replace")
    posted = {k: v[0].strip()[:MAX_FIELD] for k, v in parse_qs(raw).items() if k in _FIELDS and v}
    if any(not posted.get(name) for name in _REQUIRED):
        return _html(locale, words["address"], _form(locale, token, posted, words["missing"]), 422)
    address = {name: posted[name] for name in _FIELDS if posted.get(name)}
    now = rt.clock.now()
    # The corrected address goes the way every fact does: a stored event, applied by the event worker.
    digest = hashlib.sha256(repr(sorted(address.items())).encode()).hexdigest()[:16]
    event = parse_event(
        {
            "id": f"address:{order.id}:{digest}",
            "type": "order.updated",
            "occurred_at": format_instant(now),
            "order": {"id": order.id, "shipping_address": address, "address_confirmed_by": "customer"},
        }
    )
    with rt.unit_of_work() as session:
        store_events(session, source=FeedSource.EVENTS, events=[event], received_at=now)
    return _html(locale, words["address"], f"<p>{escape(words['thanks'])}</p>")


@router.get("/status", response_class=HTMLResponse)
def public_status(request: Request, rt: RuntimeDep) -> HTMLResponse:
    """The public status page outage messages link to: open incidents, and those resolved in the last day."""
    with rt.unit_of_work() as session:
        view = pages.incidents_page(session, rt.settings, locale=_language(request), now=rt.clock.now())
    return _view(view)


@router.get("/t/{ref:path}", response_class=HTMLResponse)
@router.get("/orders", response_class=HTMLResponse)
@router.get("/orders/{ref:path}", response_class=HTMLResponse)
def older_links(request: Request, ref: str = "") -> HTMLResponse:
    """Links of messages sent before the status page: a friendly page that says where to look."""
    return _not_found(_language(request), code=200)
