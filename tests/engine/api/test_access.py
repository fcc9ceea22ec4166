"""Every /ops page and /api route declares the role it needs; tokens act with their owner's role."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.testclient import TestClient
from support.staff import make_staff

from engine.api.access import ACCESS_ATTRIBUTE
from engine.api.app import create_app
from engine.runtime import Runtime
from engine.vocabulary import StaffRole


def declared_access(dependant: Dependant) -> list[object]:
    found = []
    for dependency in dependant.dependencies:
        if hasattr(dependency.call, ACCESS_ATTRIBUTE):
            found.append(getattr(dependency.call, ACCESS_ATTRIBUTE))
        found.extend(declared_access(dependency))
    return found


def effective_routes(app: FastAPI) -> list[Any]:
    """Every route as served, with the dependencies of the routers that include it."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI ≥ 0.16x includes routers lazily
    except ImportError:
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def guarded(route: Any) -> bool:
    path = getattr(route, "path", None) or ""
    return path.startswith(("/ops", "/api")) or path == "/"


def test_every_console_and_api_route_declares_a_role(rt: Runtime) -> None:
    app = create_app(rt)
    checked, missing = 0, []
    for route in effective_routes(app):
        if not guarded(route):
            continue
        dependant = getattr(route, "dependant", None)
        assert dependant is not None, f"{route.path} is not a FastAPI route (a mount cannot declare a role)"
        checked += 1
        if not declared_access(dependant):
            missing.append(f"{sorted(route.methods)} {route.path}")
    assert missing == [], f"routes without a declared role: {missing}"
    assert checked >= 15


def test_the_walk_catches_an_undeclared_route(rt: Runtime) -> None:
    app = create_app(rt)

    @app.get("/ops/forgotten")
    def forgotten() -> str:
        return "no role"

    route = next(r for r in effective_routes(app) if getattr(r, "path", "") == "/ops/forgotten")
    assert declared_access(route.dependant) == []


def test_personal_tokens_carry_their_owners_role(rt: Runtime, client: TestClient) -> None:
    make_staff(rt, "vi@example.com", StaffRole.VIEWER)
    from engine.staff import accounts, tokens

    with rt.unit_of_work() as session:
        viewer = accounts.find_user(session, "vi@example.com")
        assert viewer is not None
        secret = tokens.create_token(session, viewer, name="scripts", at=rt.clock.now()).secret
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/notices", headers=auth).status_code == 200
    refused = client.post("/api/pause", json={"paused": True}, headers=auth)
    assert refused.status_code == 403 and "approver" in refused.text
    assert (
        client.post("/api/pause", json={"paused": True}, headers={"Authorization": "Bearer test-token"}).json()[
            "updated_by"
        ]
        == "staff:api"
    )
    listed = client.get("/api/staff/tokens", headers=auth).json()["items"]
    assert [t["name"] for t in listed] == ["scripts"] and "token" not in listed[0]
    assert client.delete(f"/api/staff/tokens/{listed[0]['id']}", headers=auth).status_code == 200
    assert client.get("/api/notices", headers=auth).status_code == 401


def test_api_token_endpoints_make_a_token_shown_once(rt: Runtime, client: TestClient) -> None:
    make_staff(rt, "ap@example.com", StaffRole.APPROVER)
    from engine.staff import accounts, tokens

    with rt.unit_of_work() as session:
        user = accounts.find_user(session, "ap@example.com")
        assert user is not None
        first = tokens.create_token(session, user, name="first", at=rt.clock.now()).secret
    made = client.post("/api/staff/tokens", json={"name": "ci"}, headers={"Authorization": f"Bearer {first}"})
    assert made.status_code == 201 and made.json()["token"].startswith("fwt_")
    second = {"Authorization": f"Bearer {made.json()['token']}"}
    assert (
        client.post("/api/pause", json={"paused": False}, headers=second).json()["updated_by"] == "staff:ap@example.com"
    )
    machine = client.get("/api/staff/tokens", headers={"Authorization": "Bearer test-token"})
    assert machine.status_code == 403 and "personal tokens" in machine.json()["detail"]
    assert create_app(rt) is not None
