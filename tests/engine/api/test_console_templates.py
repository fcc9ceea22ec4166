"""Template pages: list, editor with preview, save with errors at their line, publish, diff, test send."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from support.staff import make_staff, sign_in

from engine.runtime import Runtime
from engine.vocabulary import StaffRole

EDITOR = "/ops/templates/shipment.delayed/initial/sms/en"


def sms_of(html: str) -> str:
    found = re.search(r'id="part-sms"[^>]*>([^<]*)</textarea>', html)
    assert found
    return (
        found.group(1)
        .replace("&#39;", "'")
        .replace("&#34;", '"')
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
    )


def test_list_shows_every_situation_with_its_published_version(rt: Runtime, client: TestClient) -> None:
    make_staff(rt, "vi@example.com", StaffRole.VIEWER)
    sign_in(client, "vi@example.com")
    page = client.get("/ops/templates")
    assert page.status_code == 200
    for kind in ("order.late_to_ship", "shipment.delayed", "service.disruption", "digest"):
        assert f">{kind}</h2>" in page.text
    assert 'href="/ops/templates/shipment.delayed/initial/sms/pt-BR"' in page.text
    assert "v1" in page.text and "seed" in page.text


def test_viewer_reads_the_editor_but_cannot_save(rt: Runtime, client: TestClient) -> None:
    make_staff(rt, "vi@example.com", StaffRole.VIEWER)
    token = sign_in(client, "vi@example.com")
    page = client.get(EDITOR)
    assert page.status_code == 200 and "readonly" in page.text and "Save draft" not in page.text
    refused = client.post(f"{EDITOR}/drafts", data={"sms": "hello", "csrf_token": token})
    assert refused.status_code == 403 and "needs the editor role" in refused.text


def test_editor_previews_saves_and_sees_errors_at_their_line(rt: Runtime, client: TestClient) -> None:
    make_staff(rt, "ed@example.com", StaffRole.EDITOR)
    token = sign_in(client, "ed@example.com")
    page = client.get(EDITOR)
    assert 'id="sms-segments"' in page.text and "Checklist" in page.text
    source = sms_of(page.text)
    preview = client.post(
        f"{EDITOR}/preview",
        data={"sms": source + " Não!", "context": "sample:first-delay"},
        headers={"X-CSRF-Token": token},
    )
    assert preview.status_code == 200 and "UCS-2" in preview.text and "forced by" in preview.text
    broken = client.post(
        f"{EDITOR}/drafts", data={"sms": "{{ brand.name }}:\n{{ customer.nickname }}", "csrf_token": token}
    )
    assert broken.status_code == 400 and "Not saved" in broken.text and "line 2, column 4" in broken.text
    saved = client.post(
        f"{EDITOR}/drafts",
        data={"sms": source.replace("sorry", "so sorry"), "csrf_token": token, "note": "warmer"},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and "done=saved" in saved.headers["location"]
    draft = client.get(saved.headers["location"])
    assert "Before you publish v2" in draft.text and "An approver publishes drafts." in draft.text
    publish = client.post("/ops/templates/versions/2/publish", data={"csrf_token": token})
    assert publish.status_code == 403


def test_approver_publishes_compares_and_rolls_back(rt: Runtime, client: TestClient) -> None:
    make_staff(rt, "ap@example.com", StaffRole.APPROVER)
    token = sign_in(client, "ap@example.com")
    source = sms_of(client.get(EDITOR).text)
    saved = client.post(f"{EDITOR}/drafts", data={"sms": source.replace("sorry", "so sorry"), "csrf_token": token})
    version_id = int(re.search(r"version=(\d+)", str(saved.url)).group(1))  # type: ignore[union-attr]
    done = client.post(f"/ops/templates/versions/{version_id}/publish", data={"csrf_token": token})
    assert "Published: the next message uses it." in done.text
    diff_link = re.search(r'href="(/ops/templates/versions/\d+/diff/\d+)"', done.text)
    assert diff_link
    diff = client.get(diff_link.group(1))
    assert diff.status_code == 200 and 'class="add"' in diff.text and "so sorry" in diff.text
    rolled = re.search(r'action="(/ops/templates/versions/\d+/rollback)"', done.text)
    assert rolled
    back = client.post(rolled.group(1), data={"csrf_token": token})
    assert "Rolled back" in back.text and "v3" in back.text
    assert 'action="/ops/templates/compare"' in back.text
    picked = client.get("/ops/templates/compare", params={"a": 7, "b": 9}, follow_redirects=False)
    assert picked.headers["location"] == "/ops/templates/versions/7/diff/9"


def test_email_preview_frame_is_sandboxed_with_its_own_policy(rt: Runtime, client: TestClient) -> None:
    make_staff(rt, "ed@example.com", StaffRole.EDITOR)
    sign_in(client, "ed@example.com")
    page = client.get("/ops/templates/shipment.delayed/initial/email/en")
    frame = re.search(r'<iframe class="email" sandbox title="[^"]+" src="([^"]+)"', page.text)
    assert frame
    shown = client.get(frame.group(1))
    assert shown.status_code == 200 and "desk lamp" in shown.text.lower()
    assert "script-src" not in shown.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in shown.headers["content-security-policy"]
    with TestClient(client.app) as stranger:
        assert stranger.get(frame.group(1), follow_redirects=False).status_code == 303


def test_send_a_test_to_me_goes_through_the_channel_and_is_audited(rt: Runtime, client: TestClient) -> None:
    from pathlib import Path

    from sqlmodel import Session, select

    from engine.models import AuditEntry

    make_staff(rt, "ed@example.com", StaffRole.EDITOR)
    token = sign_in(client, "ed@example.com")
    page = client.get("/ops/templates/shipment.delayed/initial/email/en")
    parts = {
        p: re.search(rf'id="part-{p}"[^>]*>([^<]*)</textarea>', page.text).group(1) for p in ("subject", "text", "html")
    }  # type: ignore[union-attr]
    import html

    data = {p: html.unescape(v) for p, v in parts.items()} | {"context": "sample:first-delay"}
    sent = client.post(
        "/ops/templates/shipment.delayed/initial/email/en/test", data=data, headers={"X-CSRF-Token": token}
    )
    assert "Test sent to your email" in sent.text
    eml = (Path(rt.settings.outbox_dir) / "0.eml").read_text()
    assert "To: ed@example.com" in eml and "[Test]" in eml
    texted = client.post(
        f"{EDITOR}/test", data={"sms": "hi", "context": "sample:first-delay"}, headers={"X-CSRF-Token": token}
    )
    assert "no mobile number" in texted.text
    with Session(rt.db) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "template.test_sent")).one()
    assert entry.actor == "staff:ed@example.com" and entry.details["channel"] == "email"
