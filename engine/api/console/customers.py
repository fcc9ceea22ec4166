"""The customer page (`/ops/customers/{id}`): one customer's whole story on one timeline, contact details
masked unless a staff member asks to see them, which is a form (CSRF) and audited (`contact.revealed`).

Read through `engine.read.customer_timeline`, the service behind `/api/customers/{id}/timeline`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from engine.api.access import Viewer
from engine.api.console.filters import read_for_page
from engine.api.console.layout import render
from engine.api.deps import RuntimeDep
from engine.api.params import Key
from engine.read.customer_timeline import customer_timeline

router = APIRouter(tags=["console"])
BASE = "/ops/customers"


@router.get(BASE + "/{customer_id}", response_class=HTMLResponse)
@router.post(BASE + "/{customer_id}/reveal", response_class=HTMLResponse)
def customer_page(request: Request, rt: RuntimeDep, who: Viewer, customer_id: Key) -> Response:
    """Contact details masked, or shown and audited (see `read_for_page`)."""
    found, revealed = read_for_page(
        request,
        rt,
        who,
        lambda session, viewer: customer_timeline(session, rt, customer_id, viewer),
        f"customer {customer_id}",
    )
    return render(
        request,
        "customer.html",
        title=f"Customer {customer_id}",
        principal=who,
        section="/ops/notices",
        c=found["customer"],
        timeline=found["timeline"],
        truncated=found["truncated"],
        revealed=revealed,
    )
