"""The review routes' roles: reading needs a token, deciding needs an approver."""

from __future__ import annotations

from fastapi.testclient import TestClient
from support.staff import make_staff

from engine.runtime import Runtime
from engine.staff import tokens
from engine.vocabulary import StaffRole


def test_a_viewer_token_reads_but_cannot_decide(rt: Runtime, client: TestClient) -> None:
    viewer = make_staff(rt, "viewer@example.com", StaffRole.VIEWER)
    with rt.unit_of_work() as session:
        secret = tokens.create_token(session, session.merge(viewer), name="reader", at=rt.clock.now()).secret
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/dashboard", headers=headers).status_code == 200
    assert client.post("/api/pause", json={"paused": True}, headers=headers).status_code == 403
    assert client.post("/api/approvals/1/approve", headers=headers).status_code == 403


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
