"""The review pages of the console: dashboard, notices, one notice, a customer, incidents and fan-outs, the
audit log. A viewer reads everything (contact details masked unless they ask, which is audited); deciding a
fan-out or pausing needs an approver; every form needs its CSRF token."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from support import builders
from support.outage_story import run_for, status
from support.pipeline import feed
from support.staff import csrf_of, make_staff, sign_in

from engine.api.console import notices as notice_pages
from engine.api.console.frames import FRAME_POLICY
from engine.clock import SimulatedClock
from engine.models import AuditEntry, FanoutApproval, Notice
from engine.runtime import Runtime
from engine.vocabulary import StaffRole

SAM = "sam.rivers@example.com"


def story(rt: Runtime) -> None:
    """A customer, an order, and a parcel stuck in an exception: the engine writes and sends notices."""
    t = rt.clock.now()
    feed(
        rt,
        builders.customer_upserted(t - timedelta(days=3), email=SAM, phone="+14155550123", name="Sam Rivers"),
        builders.order_created(t - timedelta(days=2)),
        builders.shipment(t - timedelta(days=1), "in_transit"),
        builders.shipment(t, "exception", exception="weather"),
    )


def all_notices(rt: Runtime) -> list[Notice]:
    with Session(rt.db) as session:
        return list(session.exec(select(Notice).order_by(col(Notice.id))).all())


def entries(rt: Runtime, action: str) -> list[AuditEntry]:
    with Session(rt.db) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def cells(html: str) -> str:
    """The result table's text, without the filter form (which shows back what was typed)."""
    return html.split("<table", 1)[1] if "<table" in html else ""


def test_the_dashboard_shows_the_weeks_numbers_and_its_chart(rt: Runtime, client: TestClient) -> None:
    story(rt)
    make_staff(rt, "vi@example.com", StaffRole.VIEWER)
    sign_in(client, "vi@example.com")
    page = client.get("/ops/")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    written = len(all_notices(rt))
    assert re.search(rf'id="stat-today">{written}<', page.text)
    assert re.search(rf'id="stat-week">{written}<', page.text)
    assert 'id="stat-open">1<' in page.text  # the shipment exception is open
    assert "<svg" in page.text and "Notices written per day, by channel" in page.text
    assert 'href="/ops/notices?situation=shipment.exception"' in page.text
    for link in ("/ops/notices", "/ops/incidents", "/ops/audit"):
        assert f'href="{link}"' in page.text  # the navigation reaches every review page


def test_notices_are_found_by_exact_email_and_masked_in_the_list(rt: Runtime, client: TestClient) -> None:
    story(rt)
    make_staff(rt, "vi@example.com", StaffRole.VIEWER)
    sign_in(client, "vi@example.com")
    found = client.get("/ops/notices", params={"email": SAM.upper()})
    assert found.status_code == 200 and found.headers["cache-control"] == "no-store"
    ids = re.findall(r'href="/ops/notices/(\d+)"', found.text)
    assert sorted(map(int, ids)) == [n.id for n in all_notices(rt)] and ids
    assert SAM not in cells(found.text) and "s***@example.com" in cells(found.text)
    assert "+14155550123" not in found.text

    assert "No notices match" in client.get("/ops/notices", params={"email": "sam@example.org"}).text
    email_only = client.get("/ops/notices", params={"channel": "email", "status": "sent"})
    assert email_only.text.count("<td>email</td>") >= 1 and "<td>sms</td>" not in email_only.text
    odd = client.get("/ops/notices", params={"status": "lost-in-space", "since": "yesterday"})
    assert odd.status_code == 200
    assert "There is no status called" in odd.text and "since must be a date" in odd.text


def test_notice_pages_go_by_keyset(rt: Runtime, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    story(rt)
    monkeypatch.setattr(notice_pages, "PAGE_SIZE", 1)
    make_staff(rt, "vi@example.com", StaffRole.VIEWER)
    sign_in(client, "vi@example.com")
    newest = all_notices(rt)[-1].id
    first = client.get("/ops/notices", params={"customer_id": "C1"})
    assert re.findall(r'href="/ops/notices/(\d+)"', first.text) == [str(newest)]
    older = re.search(r'href="([^"]+)">Older notices', first.text)
    assert older and "cursor=" in older.group(1) and "customer_id=C1" in older.group(1)
    second = client.get(older.group(1).replace("&amp;", "&"))
    shown = re.findall(r'href="/ops/notices/(\d+)"', second.text)
    assert len(shown) == 1 and int(shown[0]) < (newest or 0)
    assert ">Newest</a>" in second.text


def test_a_notice_page_shows_the_message_its_version_timeline_and_why(rt: Runtime, client: TestClient) -> None:
    story(rt)
    make_staff(rt, "vi@example.com", StaffRole.VIEWER)
    sign_in(client, "vi@example.com")
    email = next(n for n in all_notices(rt) if n.channel == "email" and n.status == "sent")
    page = client.get(f"/ops/notices/{email.id}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert f"<h1>Notice {email.id}</h1>" in page.text
    version = re.search(r'id="template-version"><a href="([^"]+)">(v\d+) · ([^<]+)</a>', page.text)
    assert version and version.group(1).startswith("/ops/templates/shipment.exception/initial/email/en?version=")
    assert email.template.endswith("@" + version.group(2))
    assert client.get(version.group(1).replace("&amp;", "&")).status_code == 200
    assert "accepted by the provider" in page.text or "the provider accepted it" in page.text
    assert "Why it exists" in page.text and "shipment.updated" in page.text  # the events that led here
    assert 'sandbox title="The email as sent (HTML)"' in page.text
    assert SAM not in page.text  # the recipient is masked until asked for
    frame = client.get(f"/ops/notices/{email.id}/email.html")
    assert frame.status_code == 200 and frame.headers["content-security-policy"] == FRAME_POLICY
    assert frame.text == email.html
    assert client.get("/ops/notices/999999").status_code == 404


def test_a_notice_not_sent_says_why_in_plain_words(rt: Runtime, client: TestClient, clock: SimulatedClock) -> None:
    story(rt)
    feed(rt, builders.shipment(clock.now() + timedelta(minutes=1), "delivered"))  # resolved: a follow-up
    make_staff(rt, "vi@example.com", StaffRole.VIEWER)
    sign_in(client, "vi@example.com")
    for notice in all_notices(rt):
        page = client.get(f"/ops/notices/{notice.id}")
        outcome = re.search(r'id="outcome">(.*?)</p>', page.text, re.S)
        assert outcome, notice.id
        words = re.sub(r"<[^>]+>", "", outcome.group(1))
        if notice.status == "sent":
            assert "Sent at" in words
        else:
            assert any(w in words for w in ("Not sent", "Waiting", "Merged", "Failed", "Due", "Scheduled")), words


def test_a_viewer_reveals_contact_details_by_form_and_it_is_audited(rt: Runtime, client: TestClient) -> None:
    story(rt)
    make_staff(rt, "vi@example.com", StaffRole.VIEWER)
    token = sign_in(client, "vi@example.com")
    masked = client.get("/ops/customers/C1")
    assert masked.status_code == 200 and masked.headers["cache-control"] == "no-store"
    assert SAM not in masked.text and "s***@example.com" in masked.text
    assert "order A1001 placed" in masked.text and 'href="/ops/notices/' in masked.text  # the whole story
    assert entries(rt, "contact.revealed") == []

    refused = client.post("/ops/customers/C1/reveal")  # no CSRF token: nothing shown, nothing recorded
    assert refused.status_code == 403 and SAM not in refused.text
    assert entries(rt, "contact.revealed") == []

    shown = client.post("/ops/customers/C1/reveal", data={"csrf_token": token})
    assert shown.status_code == 200 and SAM in shown.text and "+14155550123" in shown.text
    [entry] = entries(rt, "contact.revealed")
    assert (entry.actor, entry.subject) == ("staff:vi@example.com", "customer:C1")
    assert entry.details == {"page": "customer", "address": "testclient"}

    notice = all_notices(rt)[0]
    revealed = client.post(f"/ops/notices/{notice.id}/reveal", data={"csrf_token": token})
    assert revealed.status_code == 200 and notice.recipient in revealed.text
    assert [e.subject for e in entries(rt, "contact.revealed")] == ["customer:C1", f"notice:{notice.id}"]
    assert client.get("/ops/customers/NOBODY").status_code == 404


def held_fan_out(rt: Runtime, clock: SimulatedClock) -> int:
    rt.settings = rt.settings.model_copy(update={"fanout_approval": 2})
    t = clock.now()
    feed(
        rt,
        *(
            builders.customer_upserted(
                t,
                cid=cid,
                email=f"{cid.lower()}@example.com",
                components=["checkout"],
                **{"channels": ["email"], "phone": None, **extra},
            )
            for cid, extra in (
                ("C1", {"name": "Ana Souza"}),
                ("C2", {"name": "Maria Silva", "locale": "pt-BR", "timezone": "America/Sao_Paulo"}),
                ("C3", {"name": "Sam Lee", "channels": ["email", "sms"], "phone": "+14155550101"}),
            )
        ),
    )
    status(rt, "checkout", "major_outage", title="Checkout is down")
    run_for(rt, clock, timedelta(minutes=15))
    with Session(rt.db) as session:
        approval = session.exec(select(FanoutApproval)).one()
    assert approval.id is not None and approval.status == "pending"
    return approval.id


def test_a_viewer_reads_a_held_fan_out_but_only_an_approver_decides(
    rt: Runtime, client: TestClient, clock: SimulatedClock
) -> None:
    approval_id = held_fan_out(rt, clock)
    make_staff(rt, "vi@example.com", StaffRole.VIEWER)
    token = sign_in(client, "vi@example.com")
    page = client.get("/ops/incidents")
    assert page.status_code == 200
    assert "Checkout is down" in page.text and f'id="approval-{approval_id}"' in page.text
    assert "<td>pt-BR</td><td>1</td>" in page.text and "<td>sms</td><td>1</td>" in page.text
    assert "locale pt-BR" in page.text and "longest name" in page.text  # rendered worst-case samples
    assert "Approve: tell" not in page.text and "An approver decides" in page.text
    refused = client.post(f"/ops/approvals/{approval_id}/approve", data={"csrf_token": token})
    assert refused.status_code == 403 and "needs the approver role" in refused.text
    assert client.post("/ops/pause", data={"csrf_token": token, "paused": "1"}).status_code == 403

    client.post("/ops/logout", data={"csrf_token": token})
    token = sign_in(client, make_staff(rt, "ap@example.com", StaffRole.APPROVER).email)
    assert client.post(f"/ops/approvals/{approval_id}/approve", data={"note": "ok"}).status_code == 403  # no CSRF
    assert entries(rt, "fanout.approved") == []
    decided = client.post(f"/ops/approvals/{approval_id}/approve", data={"csrf_token": token, "note": "checked"})
    assert decided.status_code == 200 and "Fan-out approved" in decided.text
    assert "approved</span>" in decided.text and "by staff:ap@example.com" in decided.text
    [entry] = entries(rt, "fanout.approved")
    assert entry.actor == "staff:ap@example.com" and entry.details["address"] == "testclient"
    again = client.post(f"/ops/approvals/{approval_id}/decline", data={"csrf_token": token})
    assert again.status_code == 409 and "already approved" in again.text


def test_an_approver_pauses_sending_and_the_page_says_who_and_when(rt: Runtime, client: TestClient) -> None:
    token = sign_in(client, make_staff(rt, "ap@example.com", StaffRole.APPROVER).email)
    assert "Sending is on" in client.get("/ops/incidents").text
    paused = client.post("/ops/pause", data={"csrf_token": token, "paused": "1", "reason": "carrier outage"})
    assert "Sending is paused" in paused.text and "by <b>staff:ap@example.com</b>" in paused.text
    assert "carrier outage" in paused.text and "Resume sending" in paused.text
    [entry] = entries(rt, "sending.paused")
    assert entry.details["address"] == "testclient"
    resumed = client.post("/ops/pause", data={"csrf_token": token, "paused": "0"})
    assert "Sending is on" in resumed.text and "Pause all sending" in resumed.text


def csv_rows(text: str) -> list[dict[str, Any]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_audit_page_filters_exports_and_verifies_the_chain(rt: Runtime, client: TestClient) -> None:
    story(rt)
    make_staff(rt, "vi@example.com", StaffRole.VIEWER)
    sign_in(client, "vi@example.com")
    page = client.get("/ops/audit")
    assert page.status_code == 200 and "The chain: not verified yet" in page.text
    sent = client.get("/ops/audit", params={"action": "notice.sent"})
    assert ">notice.sent</a>" in sent.text and ">notice.planned</a>" not in sent.text
    day = rt.clock.now().date().isoformat()
    assert ">notice.sent</a>" in client.get("/ops/audit", params={"action": "notice.sent", "until": day}).text
    assert "No entries match" in client.get("/ops/audit", params={"since": "2099-01-01"}).text

    link = re.search(r'href="(/ops/audit\.csv[^"]*)"', sent.text)
    assert link and "action=notice.sent" in link.group(1)
    exported = client.get(link.group(1))
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = csv_rows(exported.text)
    assert rows and {row["action"] for row in rows} == {"notice.sent"}
    everything = {row["action"] for row in csv_rows(client.get("/ops/audit.csv").text)}
    assert {"notice.planned", "notice.sent", "situation.opened", "staff.login", "audit.exported"} <= everything
    [first_export, _] = entries(rt, "audit.exported")
    assert first_export.actor == "staff:vi@example.com" and first_export.details["filters"] == {"action": "notice.sent"}

    form = client.get("/ops/audit")
    assert client.post("/ops/audit/verify").status_code == 403  # no CSRF token
    verified = client.post("/ops/audit/verify", data={"csrf_token": csrf_of(form.text)})
    assert verified.status_code == 200 and "The chain: intact" in verified.text
    assert re.search(r'id="last-verified">[^<]+ by staff:vi@example.com, \d+ entries checked', verified.text)
