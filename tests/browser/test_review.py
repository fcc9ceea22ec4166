"""The review half of the console in headless Chromium: find what a customer was sent and why, decide a
fan-out, pause sending, and export the audit log with every step of the story in it. Every page visited
passes the page checks (support/browser.py) and is saved under var/screenshots/."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from browser.conftest import Live
from browser.test_console import nav, sign_in
from playwright.sync_api import expect
from sqlmodel import Session, col, select
from support import builders
from support.browser import check_page
from support.outage_story import run_for
from support.pipeline import drain
from support.staff import make_staff

from engine.clock import format_instant
from engine.models import Notice
from engine.vocabulary import StaffRole

SAM = "sam.rivers@example.com"


def post_events(live: Live, *events: dict[str, Any]) -> None:
    """Through the webhook, signed, as an order system would; then the worker's part."""
    body, headers = builders.signed(list(events), now=live.clock.now())
    assert httpx.post(f"{live.url}/webhooks/events", content=body, headers=headers).status_code == 202
    drain(live.rt)


def notices_of(live: Live) -> list[Notice]:
    with Session(live.rt.db) as session:
        return list(session.exec(select(Notice).order_by(col(Notice.id))).all())


def test_find_a_notice_by_the_customers_email_and_read_why_it_was_sent(
    live_factory: Callable[..., Live], new_page: Callable[[], Any], tmp_path: Path
) -> None:
    live = live_factory(audit_checkpoint_file=str(tmp_path / "checkpoints.jsonl"))
    t = live.clock.now()
    post_events(
        live,
        builders.customer_upserted(t - timedelta(days=3), email=SAM, phone="+14155550123", name="Sam Rivers"),
        builders.order_created(t - timedelta(days=2)),
        builders.shipment(t - timedelta(days=1), "in_transit"),
        builders.shipment(t, "exception", exception="weather"),
    )
    email = next(n for n in notices_of(live) if n.channel == "email")
    assert any(SAM in m.rcpt_tos for m in live.smtp.messages)  # it really went, through the test SMTP server

    make_staff(live.rt, "vi@example.com", StaffRole.VIEWER)
    page = new_page()
    sign_in(page, live, "vi@example.com")
    assert page.locator("#stat-today").inner_text() == str(len(notices_of(live)))
    assert page.locator(".chart svg").count() == 1
    check_page(page, "dashboard-numbers")

    nav(page, "Notices")
    check_page(page, "notices")
    page.get_by_label("Email").fill(SAM)
    page.get_by_role("button", name="Search").click()
    assert "email=sam.rivers%40example.com" in page.url
    assert page.get_by_role("link", name=f"Notice {email.id}", exact=True).is_visible()
    assert SAM not in page.locator("table").inner_text()  # masked in the list
    check_page(page, "notices-by-email")

    page.get_by_role("link", name=f"Notice {email.id}", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Notice {email.id}"
    version = page.locator("#template-version")
    expect(version).to_contain_text("v1 · shipment.exception/initial/email/en")
    assert email.template.endswith("@v1")
    assert page.locator("#outcome").inner_text().startswith("sent")
    assert page.locator("#subject-sent").inner_text() == email.subject
    assert page.frame_locator("iframe[title='The email as sent (HTML)']").locator("body").inner_text() != ""
    assert page.get_by_role("cell", name=re.compile("accepted")).count() >= 1  # the delivery timeline
    check_page(page, "notice-email")

    page.get_by_role("button", name="Show the address").click()
    assert page.locator("#recipient").inner_text().startswith(SAM)
    check_page(page, "notice-revealed")

    version.get_by_role("link").click()
    assert "?version=" in page.url
    assert page.get_by_role("heading", level=1).inner_text().startswith("shipment.exception")
    page.goto(f"{live.url}/ops/notices/{email.id}")  # back (the revealed page was a form answer)
    page.get_by_role("link", name="C1").first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Customer C1"
    assert SAM not in page.content()
    assert page.get_by_role("link", name=f"Notice {email.id}", exact=True).is_visible()  # the whole story
    check_page(page, "customer")
    page.get_by_role("button", name="Show contact details").click()
    assert page.locator("#customer-email").inner_text() == SAM
    check_page(page, "customer-revealed")

    sms = next((n for n in notices_of(live) if n.channel == "sms"), None)
    if sms is not None:
        page.goto(f"{live.url}/ops/notices/{sms.id}")
        check_page(page, "notice-sms")


def test_approve_a_fan_out_pause_and_export_the_audit_csv(
    live_factory: Callable[..., Live], new_page: Callable[[], Any], tmp_path: Path
) -> None:
    live = live_factory(fanout_approval=2, audit_checkpoint_file=str(tmp_path / "checkpoints.jsonl"))
    t = live.clock.now()
    followers = [("C1", "Ana Souza", "en"), ("C2", "Maria Silva", "pt-BR"), ("C3", "Sam Lee", "en")]
    post_events(
        live,
        *(
            builders.customer_upserted(
                t,
                cid=cid,
                name=name,
                locale=locale,
                email=f"{cid.lower()}@example.com",
                phone=None,
                channels=["email"],
                components=["checkout"],
            )
            for cid, name, locale in followers
        ),
        {
            "id": builders.next_id(),
            "type": "service.status",
            "occurred_at": format_instant(t),
            "service": {
                "component": "checkout",
                "status": "major_outage",
                "incident_id": "INC-7",
                "title": "Checkout is down",
            },
        },
    )
    run_for(live.rt, live.clock, timedelta(minutes=15))  # the scheduler's outage scan: the fan-out is held
    assert notices_of(live) == []

    make_staff(live.rt, "ap@example.com", StaffRole.APPROVER)
    page = new_page()
    sign_in(page, live, "ap@example.com")
    nav(page, "Incidents")
    assert page.get_by_role("heading", name=re.compile("Checkout is down")).is_visible()
    assert page.get_by_text("Waiting for a decision: tell 3 customers of checkout?").is_visible()
    assert page.locator("details.sample").count() >= 2  # the samples: each locale, the longest name
    sample = page.frame_locator("details.sample iframe").first.locator("body")
    expect(sample).to_contain_text("Hi Ana")  # the sample email, rendered in its sandboxed frame
    page.locator("details.sample iframe").first.scroll_into_view_if_needed()  # painted for the screenshot
    check_page(page, "incidents-pending")
    page.locator("details.sample").nth(1).locator("summary").click()  # open a sample: keyboard and mouse alike
    page.get_by_label("Note").fill("samples read; wording is fine")
    page.get_by_role("button", name="Approve: tell 3 customers").click()
    assert page.get_by_text("Fan-out approved").is_visible()
    check_page(page, "incidents-approved")

    run_for(live.rt, live.clock, timedelta(minutes=2))  # the next scans tell them
    told = {rcpt for m in live.smtp.messages for rcpt in m.rcpt_tos}
    assert {"c1@example.com", "c2@example.com", "c3@example.com"} <= told

    page.get_by_label("Reason").fill("checking the carrier feed")
    page.get_by_role("button", name="Pause all sending").click()
    assert page.get_by_role("heading", name="Sending is paused").is_visible()
    assert page.get_by_text("by staff:ap@example.com").first.is_visible()
    check_page(page, "incidents-paused")
    page.get_by_role("button", name="Resume sending").click()
    assert page.get_by_role("heading", name="Sending is on").is_visible()

    nav(page, "Audit log")
    check_page(page, "audit")
    page.get_by_role("button", name="Verify now").click()
    expect(page.locator("#chain-h")).to_have_text("The chain: intact")
    check_page(page, "audit-verified")
    page.get_by_label("Action").fill("fanout.approved")
    page.get_by_role("button", name="Filter").click()
    assert page.locator("table.audit tbody tr").count() == 1
    check_page(page, "audit-filtered")
    page.get_by_role("link", name="Clear").click()

    with page.expect_download() as download:
        page.get_by_role("link", name="Export every entry as CSV").click()
    with open(download.value.path(), encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    story = [(row["action"], row["subject"]) for row in rows]
    sent = [n for n in notices_of(live) if n.status == "sent"]
    assert len(sent) == 3
    assert ("staff.login", "staff:ap@example.com") in [(row["action"], row["actor"]) for row in rows]
    for step in (
        ("fanout.approval_requested", "incident:INC-7"),
        ("fanout.approved", "incident:INC-7"),
        ("sending.paused", "engine:sending"),
        ("sending.resumed", "engine:sending"),
        ("audit.verified", "audit:chain"),
        ("audit.exported", "audit:export"),
        *((action, f"notice:{n.id}") for n in sent for action in ("notice.planned", "notice.sent")),
    ):
        assert step in story, step
    approved = next(row for row in rows if row["action"] == "fanout.approved")
    assert "samples read; wording is fine" in approved["details"] and approved["actor"] == "staff:ap@example.com"
