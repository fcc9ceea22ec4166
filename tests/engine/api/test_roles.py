"""Every /api route states the role it needs in one place (`engine.api.roles.requires`), so switching from
the machine token to staff logins changes the guard, not the routes."""

from __future__ import annotations

from fastapi.testclient import TestClient

from engine.api.roles import Role, stated_roles


def api_routes(client: TestClient) -> dict[tuple[str, str], Role | None]:
    routes = stated_roles(client.app.routes)  # type: ignore[attr-defined]
    return {(method, path): role for (method, path), role in routes.items() if path.startswith("/api")}


def test_every_api_route_states_its_role(client: TestClient) -> None:
    roles = api_routes(client)
    assert len(roles) > 15
    assert [route for route, role in roles.items() if role is None] == []
    assert roles[("POST", "/api/approvals/{approval_id}/approve")] == Role.APPROVER
    assert roles[("POST", "/api/approvals/{approval_id}/decline")] == Role.APPROVER
    assert roles[("POST", "/api/pause")] == Role.APPROVER
    assert roles[("GET", "/api/notices/{notice_id}")] == Role.VIEWER
    assert roles[("GET", "/api/audit.csv")] == Role.VIEWER


def test_without_the_token_every_reading_route_is_401(client: TestClient) -> None:
    paths = [
        "/api/notices",
        "/api/notices/1",
        "/api/customers/C1/timeline",
        "/api/incidents",
        "/api/incidents/INC-1",
        "/api/approvals/1",
        "/api/audit",
        "/api/audit.csv",
        "/api/audit/chain",
        "/api/dashboard",
    ]
    assert {path: client.get(path).status_code for path in paths} == dict.fromkeys(paths, 401)
    assert client.post("/api/audit/chain/verify").status_code == 401
