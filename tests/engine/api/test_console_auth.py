"""Signing in to the console: cookies, expiry, one session each, the lock, CSRF, second factor, headers."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from support.staff import PASSWORD, csrf_of, make_staff, sign_in, try_sign_in

from engine.api.app import create_app
from engine.clock import SimulatedClock
from engine.config import Settings
from engine.models import AuditEntry
from engine.runtime import Runtime
from engine.staff.signin import FAILED
from engine.vocabulary import StaffRole


def audit_actions(rt: Runtime, prefix: str = "staff.") -> list[str]:
    with Session(rt.db) as session:
        rows = session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))).all()
    return [row.action for row in rows if row.action.startswith(prefix)]


def test_anonymous_pages_go_to_sign_in_and_root_to_the_console(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/ops/"
    response = client.get("/ops/staff", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ops/login?next=%2Fops%2Fstaff"
    htmx = client.get("/ops/", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/ops/login"


def test_sign_in_sets_a_safe_cookie_and_audits_the_address(rt: Runtime, client: TestClient) -> None:
    make_staff(rt, "ana@example.com", StaffRole.EDITOR)
    response = try_sign_in(client, "Ana@Example.com")
    assert response.status_code == 303 and response.headers["location"] == "/ops/"
    cookie = response.headers["set-cookie"]
    assert "fw_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here; over https it is Secure (below)
    page = client.get("/ops/")
    assert page.status_code == 200 and "<h1>Dashboard</h1>" in page.text
    with Session(rt.db) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "staff.login")).one()
    assert entry.actor == "staff:ana@example.com" and entry.details["address"] == "testclient"


def test_cookie_is_secure_over_https(rt: Runtime) -> None:
    make_staff(rt, "ana@example.com", StaffRole.VIEWER)
    with TestClient(create_app(rt), base_url="https://testserver") as client:
        assert "Secure" in try_sign_in(client, "ana@example.com").headers["set-cookie"]


def test_pages_carry_security_headers_with_a_fresh_nonce(rt: Runtime, client: TestClient) -> None:
    make_staff(rt, "ana@example.com", StaffRole.VIEWER)
    sign_in(client, "ana@example.com")
    first, second = client.get("/ops/"), client.get("/ops/")
    csp = first.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)  # type: ignore[union-attr]
    assert f'nonce="{nonce}"' in first.text
    assert nonce not in second.headers["content-security-policy"]
    assert first.headers["cache-control"] == "no-store"
    assert first.headers["x-frame-options"] == "DENY"
    asset = client.get("/ops/static/htmx.min.js")
    assert asset.status_code == 200 and "public" in asset.headers["cache-control"]
    assert client.get("/ops/static/..%2Fpages.py").status_code == 404


def test_wrong_password_and_unknown_email_read_the_same(rt: Runtime, client: TestClient) -> None:
    make_staff(rt, "ana@example.com", StaffRole.VIEWER)
    wrong = try_sign_in(client, "ana@example.com", "not-the-password-at-all")
    unknown = try_sign_in(client, "nobody@example.com", PASSWORD)
    assert wrong.status_code == unknown.status_code == 200
    assert FAILED in wrong.text and FAILED in unknown.text
    assert "fw_session" not in wrong.headers.get("set-cookie", "")


def test_the_eleventh_attempt_is_locked_out_for_fifteen_minutes(
    rt: Runtime, client: TestClient, clock: SimulatedClock
) -> None:
    make_staff(rt, "ana@example.com", StaffRole.VIEWER)
    for _ in range(10):
        assert try_sign_in(client, "ana@example.com", "wrong-password-here").status_code == 200
    assert audit_actions(rt).count("staff.locked") == 1
    locked = try_sign_in(client, "ana@example.com", PASSWORD)  # the right password, but locked
    assert locked.status_code == 200 and FAILED in locked.text
    clock.advance(timedelta(minutes=14))
    assert try_sign_in(client, "ana@example.com", PASSWORD).status_code == 200
    clock.advance(timedelta(minutes=2))
    assert try_sign_in(client, "ana@example.com", PASSWORD).status_code == 303


def test_idle_and_absolute_expiry(rt: Runtime, client: TestClient, clock: SimulatedClock) -> None:
    make_staff(rt, "ana@example.com", StaffRole.VIEWER)
    sign_in(client, "ana@example.com")
    clock.advance(timedelta(minutes=29))
    assert client.get("/ops/", follow_redirects=False).status_code == 200
    clock.advance(timedelta(minutes=31))
    assert client.get("/ops/", follow_redirects=False).status_code == 303  # idle for 31 minutes

    sign_in(client, "ana@example.com")
    statuses = []
    for _ in range(12 * 3 + 1):  # active every 20 minutes, never idle, for just over 12 hours
        clock.advance(timedelta(minutes=20))
        statuses.append(client.get("/ops/", follow_redirects=False).status_code)
    assert set(statuses[:-1]) == {200}
    assert statuses[-1] == 303  # the absolute limit


def test_one_live_session_per_person(rt: Runtime) -> None:
    make_staff(rt, "ana@example.com", StaffRole.VIEWER)
    app = create_app(rt)
    with TestClient(app) as laptop, TestClient(app) as phone:
        sign_in(laptop, "ana@example.com")
        sign_in(phone, "ana@example.com")
        assert phone.get("/ops/", follow_redirects=False).status_code == 200
        assert laptop.get("/ops/", follow_redirects=False).status_code == 303


def test_state_changes_need_the_csrf_token(rt: Runtime, client: TestClient) -> None:
    make_staff(rt, "ana@example.com", StaffRole.VIEWER)
    token = sign_in(client, "ana@example.com")
    refused = client.post("/ops/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403 and "Nothing was changed" in refused.text
    forged = client.post("/ops/logout", data={"csrf_token": token[:-2] + "xx"}, follow_redirects=False)
    assert forged.status_code == 403
    assert client.get("/ops/", follow_redirects=False).status_code == 200  # still signed in
    header = client.post("/ops/logout", headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert header.status_code == 303
    assert client.get("/ops/", follow_redirects=False).status_code == 303
    assert audit_actions(rt) == ["staff.created", "staff.login", "staff.logout"]


def test_login_form_without_its_token_is_refused(rt: Runtime, client: TestClient) -> None:
    make_staff(rt, "ana@example.com", StaffRole.VIEWER)
    client.get("/ops/login")
    response = client.post(
        "/ops/login", data={"email": "ana@example.com", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 200 and "form expired" in response.text
    assert "fw_session" not in response.headers.get("set-cookie", "")


def test_a_viewer_is_refused_an_admin_page(rt: Runtime, client: TestClient) -> None:
    make_staff(rt, "vi@example.com", StaffRole.VIEWER)
    sign_in(client, "vi@example.com")
    response = client.get("/ops/staff")
    assert response.status_code == 403 and "needs the admin role" in response.text
    assert 'href="/ops/staff"' not in client.get("/ops/").text  # nor shown the link


def test_second_factor(rt: Runtime, client: TestClient) -> None:
    from engine.staff import accounts

    user = make_staff(rt, "ana@example.com", StaffRole.APPROVER)
    with rt.unit_of_work() as session:
        secret = accounts.enable_totp(session, session.merge(user), actor="test", at=rt.clock.now())
    assert try_sign_in(client, "ana@example.com").status_code == 200  # no code
    assert try_sign_in(client, "ana@example.com", code="000000").status_code == 200
    code = pyotp.TOTP(secret).at(rt.clock.now())
    assert try_sign_in(client, "ana@example.com", code=code).status_code == 303


def test_approvers_need_a_second_factor_when_required(rt: Runtime) -> None:
    rt.settings = rt.settings.model_copy(update={"staff_2fa": True})
    make_staff(rt, "ap@example.com", StaffRole.APPROVER)
    make_staff(rt, "ed@example.com", StaffRole.EDITOR)
    with TestClient(create_app(rt)) as client:
        refused = try_sign_in(client, "ap@example.com")
        assert refused.status_code == 200 and "needs a second factor" in refused.text
        assert try_sign_in(client, "ed@example.com").status_code == 303


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValueError, match="FOREWARN_SECRET_KEY"):
        Settings(env="production", _env_file=None)  # type: ignore[call-arg]
    assert (
        Settings(
            env="production",
            secret_key="s3cr3t-of-our-own-that-is-long-enough-0123",
            audit_key="an-audit-key-of-our-own-that-is-long-enough",
            _env_file=None,
        ).env
        == "production"
    )  # type: ignore[call-arg]


def test_team_page_adds_and_disables(rt: Runtime, client: TestClient) -> None:
    make_staff(rt, "boss@example.com", StaffRole.ADMIN)
    token = sign_in(client, "boss@example.com")
    weak = client.post(
        "/ops/staff", data={"email": "new@example.com", "role": "editor", "password": "short", "csrf_token": token}
    )
    assert weak.status_code == 400 and "at least 12 characters" in weak.text
    made = client.post(
        "/ops/staff",
        data={"email": "new@example.com", "role": "editor", "password": PASSWORD, "csrf_token": token},
    )
    assert made.status_code == 200 and "Account created." in made.text and "new@example.com" in made.text
    user_id = re.search(r"/ops/staff/(\d+)/disable", made.text).group(1)  # type: ignore[union-attr]
    done = client.post(f"/ops/staff/{user_id}/disable", data={"csrf_token": token})
    assert "Account disabled" in done.text
    assert try_sign_in(client, "new@example.com").status_code == 200
    assert csrf_of(done.text)
