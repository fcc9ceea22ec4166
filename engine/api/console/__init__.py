"""The staff console's routes (`/ops`): server-rendered pages in the layout of `engine/console/pages`.

Add a page: write `engine/console/pages/<name>.html` extending `base.html`, a route here taking the
role it needs (`who: Viewer`, `Editor`, `Approver` or `Admin` from `engine.api.access`) and returning
`layout.render(...)`, and, for a top-level page, `engine.console.pages.add_nav(...)`. docs/console.md has
the whole recipe.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from engine.api.console import audit, auth, customers, home, incidents, notices, staff, templates
from engine.api.console.layout import install_handlers

ROUTERS: tuple[APIRouter, ...] = (
    home.router,
    auth.router,
    staff.router,
    templates.router,
    notices.router,
    customers.router,
    incidents.router,
    audit.router,
)


def install(app: FastAPI) -> None:
    for router in ROUTERS:
        # Pages for people, not an API: out of /openapi.json (their JSON twins are under /api), still
        # under the role each declares (tests/engine/api/test_access.py walks the app's routes).
        app.include_router(router, include_in_schema=False)
    install_handlers(app)
