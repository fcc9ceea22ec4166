"""Staff accounts and signed-in console clients for tests."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response

from engine.models import StaffUser
from engine.runtime import Runtime
from engine.staff import accounts
from engine.vocabulary import StaffRole

PASSWORD = "plum-harbour-violin-42"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_staff(
    rt: Runtime, email: str, role: StaffRole, *, password: str = PASSWORD, phone: str | None = None
) -> StaffUser:
    with rt.unit_of_work() as session:
        return accounts.create_user(
            session,
            email=email,
            role=role,
            password=password,
            name=email.split("@")[0].title(),
            phone=phone,
            actor="test",
            at=rt.clock.now(),
        )


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def try_sign_in(client: TestClient, email: str, password: str = PASSWORD, code: str = "") -> Response:
    page = client.get("/ops/login")
    return client.post(
        "/ops/login",
        data={"email": email, "password": password, "code": code, "csrf_token": csrf_of(page.text), "next": "/ops/"},
        follow_redirects=False,
    )


def sign_in(client: TestClient, email: str, password: str = PASSWORD, code: str = "") -> str:
    """Sign in and return the session's CSRF token (from the dashboard's sign-out form)."""
    response = try_sign_in(client, email, password, code)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/ops/").text)
