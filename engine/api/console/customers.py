"""The customer page (`/ops/customers/{id}`): one customer's whole story on one timeline, contact details
masked unless a staff member asks to see them, which is a form (CSRF) and audited (`contact.revealed`).

Read through `engine.read.customer_timeline`, the service behind `/api/customers/{id}/timeline`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from engine.api.access import Viewer
from engine.api.console.filters import reader
from engine.api.console.layout import render
from engine.api.deps import RuntimeDep
from engine.api.params import Key
from engine.api.roles import read_one
from engine.read.customer_timeline import customer_timeline
from engine.runtime import Runtime
from engine.staff.accounts import Principal

router = APIRouter(tags=["console"])
BASE = "/ops/customers"


def _customer_page(request: Request, rt: Runtime, who: Principal, customer_id: str, *, reveal: bool) -> Response:
    viewer = reader(who, reveal=reveal)
    found = read_one(rt, viewer, lambda s: customer_timeline(s, rt, customer_id, viewer), f"customer {customer_id}")
    customer = found["customer"]
    return render(
        request,
        "customer.html",
        title=f"Customer {customer_id}",
        principal=who,
        section="/ops/notices",
        c=customer,
        timeline=found["timeline"],
        truncated=found["truncated"],
        revealed=reveal,
    )


@router.get(BASE + "/{customer_id}", response_class=HTMLResponse)
def customer_page(request: Request, rt: RuntimeDep, who: Viewer, customer_id: Key) -> Response:
    return _customer_page(request, rt, who, customer_id, reveal=False)


@router.post(BASE + "/{customer_id}/reveal", response_class=HTMLResponse)
def customer_revealed(request: Request, rt: RuntimeDep, who: Viewer, customer_id: Key) -> Response:
    """The same page with the email and phone shown; the reveal is audited with who, when and from where."""
    return _customer_page(request, rt, who, customer_id, reveal=True)
