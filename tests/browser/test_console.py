"""The staff console in headless Chromium, as a person would use it. Every page visited passes the page
checks (support/browser.py) and is saved under var/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from browser.conftest import Live
from playwright.sync_api import expect
from sqlmodel import Session, col, select
from support import builders
from support.browser import check_page
from support.pipeline import drain
from support.staff import PASSWORD, make_staff

from engine.models import AuditEntry, Notice
from engine.vocabulary import StaffRole

SMS_EDITOR = "/ops/templates/shipment.delayed/initial/sms/en"
EMAIL_EDITOR = "/ops/templates/shipment.exception/initial/email/en"


def sign_in(page: Any, live: Live, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{live.url}/ops/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def nav(page: Any, name: str) -> None:
    page.get_by_role("navigation", name="Console").get_by_role("link", name=name).click()


def actions(live: Live) -> list[str]:
    with Session(live.rt.db) as session:
        return [e.action for e in session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))]


def test_sign_in_and_the_pages_an_admin_sees(live: Live, new_page: Callable[[], Any]) -> None:
    make_staff(live.rt, "admin@example.com", StaffRole.ADMIN)
    page = new_page()
    page.goto(live.url)  # / → /ops/ → the sign-in page
    assert page.url.endswith("/ops/login")
    check_page(page, "login")
    sign_in(page, live, "admin@example.com", "not the password at all")
    assert page.get_by_role("alert").inner_text().startswith("Those sign-in details did not work")
    check_page(page, "login-failed")
    sign_in(page, live, "admin@example.com")
    assert page.get_by_role("heading", level=1).inner_text() == "Dashboard"
    check_page(page, "dashboard")

    nav(page, "Staff")
    check_page(page, "staff")
    page.get_by_label("Email").fill("vi@example.com")
    page.get_by_label("Role").select_option("viewer")
    page.get_by_label("First password").fill(PASSWORD)
    page.get_by_role("button", name="Add account").click()
    assert page.get_by_text("Account created.").is_visible()

    nav(page, "Your account")
    page.get_by_label("Token name").fill("reports")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("New token").input_value()
    check_page(page, "account-token")
    assert httpx.get(f"{live.url}/api/notices", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    nav(page, "Templates")
    check_page(page, "templates")
    page.get_by_role("link", name=re.compile(r"v1 · shipment.exception initial email en$")).click()
    check_page(page, "template-editor-email")
    page.keyboard.press("Tab")  # the first Tab reaches the skip link: usable without a mouse
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_text("You are signed out.").is_visible()
    assert "staff.token_created" in actions(live) and "staff.logout" in actions(live)


def test_edit_watch_the_preview_and_fix_an_error(live: Live, new_page: Callable[[], Any]) -> None:
    make_staff(live.rt, "ed@example.com", StaffRole.EDITOR)
    page = new_page()
    sign_in(page, live, "ed@example.com")
    page.goto(live.url + SMS_EDITOR)
    check_page(page, "template-editor-sms")
    segments, checklist = page.locator("#sms-segments"), page.locator("#checklist")
    assert page.locator("#sms-facts").inner_text().count("GSM-7") == 1
    before = segments.inner_text()

    box = page.get_by_label("SMS", exact=True)
    original = box.input_value()
    box.fill("{{ brand.name }}: Unfortunately your parcel is late. Ação! " * 3 + "{{ links.tracking }}")
    expect(page.locator("#sms-facts")).to_contain_text("UCS-2")  # the preview followed the typing
    assert "ç" in page.locator("#sms-facts").inner_text() and segments.inner_text() != before
    assert checklist.locator("li.warn[data-check='trust-words']").count() == 1
    assert checklist.locator("li.warn[data-check='exclamations']").count() == 1
    check_page(page, "template-editor-sms-warnings")

    box.fill("{{ brand.name }}: sorry, it is late.\n{{ customer.nickname }} {{ links.tracking }}")
    expect(page.locator("#preview-errors")).to_contain_text("sms, line 2, column 4")
    page.get_by_role("button", name="Save draft").click()
    assert "line 2, column 4" in page.locator("#save-errors").inner_text()
    check_page(page, "template-editor-error")

    page.get_by_label("SMS", exact=True).fill(original.replace("sorry", "so sorry"))
    page.get_by_role("button", name="Save draft").click()
    assert page.get_by_text("Draft saved.").is_visible()
    assert page.get_by_role("heading", name="Before you publish v2").is_visible()
    check_page(page, "template-draft-saved")


def test_publish_with_a_second_approver_then_a_webhook_sends_the_new_words(
    live_factory: Callable[..., Live], new_page: Callable[[], Any]
) -> None:
    live = live_factory(template_approval=True)
    make_staff(live.rt, "ana@example.com", StaffRole.APPROVER)
    make_staff(live.rt, "bo@example.com", StaffRole.APPROVER)
    author = new_page()
    sign_in(author, live, "ana@example.com")
    author.goto(live.url + EMAIL_EDITOR)
    subject = author.get_by_label("Subject", exact=True)
    subject.fill("Heads up from the new wording: " + subject.input_value())
    author.get_by_role("button", name="Save draft").click()
    assert author.get_by_text("another approver must approve your draft").is_visible()
    assert author.get_by_role("button", name=re.compile("Publish|Approve")).count() == 0
    check_page(author, "template-awaiting-approval")
    draft_url = author.url

    approver = new_page()
    sign_in(approver, live, "bo@example.com")
    approver.goto(draft_url)
    approver.get_by_role("button", name="Approve and publish v2").click()
    assert approver.get_by_text("Approved and published").is_visible()
    check_page(approver, "template-published")
    approver.get_by_role("link", name="with v1").first.click()
    check_page(approver, "template-diff")
    assert "Heads up from the new wording" in approver.locator("td.add").first.inner_text()

    t = live.clock.now()
    events = [
        builders.customer_upserted(t - timedelta(days=3), email="sam@example.com"),
        builders.order_created(t - timedelta(days=2)),
        builders.shipment(t - timedelta(days=1), "in_transit"),
        builders.shipment(t, "exception", exception="weather"),
    ]
    body, headers = builders.signed(events, now=t)
    assert httpx.post(f"{live.url}/webhooks/events", content=body, headers=headers).status_code == 202
    drain(live.rt)  # the worker's part: apply the events, deliver the due notices through SMTP
    mail = next(m.parsed() for m in live.smtp.messages if "sam@example.com" in m.rcpt_tos)
    assert mail["Subject"].startswith("Heads up from the new wording")
    with Session(live.rt.db) as session:
        notice = session.exec(select(Notice).where(Notice.channel == "email")).one()
    assert notice.template.endswith("@v2") and notice.template_version_id is not None
    assert "template.approved" in actions(live) and "template.published" in actions(live)


def test_a_viewer_is_refused_an_edit(live: Live, new_page: Callable[[], Any]) -> None:
    make_staff(live.rt, "vi@example.com", StaffRole.VIEWER)
    page = new_page()
    sign_in(page, live, "vi@example.com")
    page.goto(live.url + SMS_EDITOR)
    check_page(page, "template-editor-viewer")
    assert page.get_by_role("button", name="Save draft").count() == 0
    token = page.locator("input[name=csrf_token]").first.input_value()
    refused = page.request.post(f"{live.url}{SMS_EDITOR}/drafts", form={"sms": "hi", "csrf_token": token})
    assert refused.status == 403 and "needs the editor role" in refused.text()


def test_a_form_without_its_csrf_token_is_refused(live: Live, new_page: Callable[[], Any]) -> None:
    make_staff(live.rt, "ed@example.com", StaffRole.EDITOR)
    page = new_page()
    sign_in(page, live, "ed@example.com")
    page.goto(live.url + SMS_EDITOR)
    page.evaluate("document.querySelectorAll('#editor input[name=csrf_token]').forEach(e => e.remove())")
    page.get_by_role("button", name="Save draft").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Form expired"
    check_page(page, "csrf-refused")
    assert "template.drafted" not in actions(live)


def test_the_eleventh_bad_password_locks(live: Live, new_page: Callable[[], Any]) -> None:
    make_staff(live.rt, "ed@example.com", StaffRole.EDITOR)
    page = new_page()
    for _ in range(10):
        sign_in(page, live, "ed@example.com", "wrong-password-here")
    assert actions(live).count("staff.locked") == 1
    sign_in(page, live, "ed@example.com")  # the right password, locked out all the same
    assert page.url.endswith("/ops/login") and page.get_by_role("alert").is_visible()
    check_page(page, "login-locked")
    live.clock.advance(timedelta(minutes=16))
    sign_in(page, live, "ed@example.com")
    assert page.get_by_role("heading", level=1).inner_text() == "Dashboard"
