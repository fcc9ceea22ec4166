"""GET|POST /unsubscribe/{token}: RFC 8058 one-click, no login, no cookies."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from engine.api.deps import RuntimeDep
from engine.preferences.service import set_email_opt_out
from engine.preferences.unsubscribe import read_token

router = APIRouter(tags=["unsubscribe"])

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport"
content="width=device-width,initial-scale=1"><title>{title}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5">
<h1 style="font-size:1.3rem">{title}</h1><p>{text}</p>
<form method="post" action="{action}"><button type="submit">{button}</button></form></body></html>"""


def _page(title: str, text: str, action: str, button: str, code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=escape(title), text=escape(text), action=escape(action), button=escape(button)),
        status_code=code,
    )


_EXPIRED: dict[int | str, dict[str, Any]] = {404: {"description": "not a link we made", "content": {"text/html": {}}}}


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, responses=_EXPIRED)
def confirm(token: str, rt: RuntimeDep) -> HTMLResponse:
    if read_token(rt.settings, token) is None:
        return _page("This link has expired", "We couldn't recognise this unsubscribe link.", "#", "OK", 404)
    return _page(
        "Stop update emails?",
        f"You'll no longer get proactive updates by email from {rt.settings.brand_name}.",
        f"/unsubscribe/{token}",
        "Unsubscribe",
    )


@router.post("/unsubscribe/{token}", response_class=HTMLResponse, responses=_EXPIRED)
def unsubscribe(token: str, rt: RuntimeDep, undo: int = 0) -> HTMLResponse:
    customer_id = read_token(rt.settings, token)
    if customer_id is None:
        return _page("This link has expired", "We couldn't recognise this unsubscribe link.", "#", "OK", 404)
    with rt.unit_of_work() as session:
        set_email_opt_out(session, customer_id, opted_out=not undo, actor="customer", at=rt.clock.now())
    if undo:
        return _page(
            "You're subscribed again",
            "We'll email you when something changes with your orders.",
            f"/unsubscribe/{token}",
            "Unsubscribe",
        )
    return _page(
        "You're unsubscribed",
        "We won't send you proactive update emails any more. Changed your mind?",
        f"/unsubscribe/{token}?undo=1",
        "Undo",
    )
