"""Templates over JSON (DESIGN §10): drafts are checked before they are saved, only approvers publish,
the next notice uses the published words and records their version, drafts never send."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from support import builders
from support.pipeline import drain, notices, post
from support.staff import make_staff

from engine.clock import SimulatedClock
from engine.runtime import Runtime
from engine.staff import tokens
from engine.vocabulary import StaffRole

KEY = "shipment.exception/initial/email/en"


def bearer(rt: Runtime, email: str, role: StaffRole) -> dict[str, str]:
    user = make_staff(rt, email, role)
    with rt.unit_of_work() as session:
        secret = tokens.create_token(session, session.merge(user), name="t", at=rt.clock.now()).secret
    return {"Authorization": f"Bearer {secret}"}


def current_parts(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    found = client.get(f"/api/templates/{KEY}", headers=headers).json()
    return dict(found["published"]["parts"])


def test_list_names_every_template_with_its_published_version(rt: Runtime, client: TestClient) -> None:
    listed = client.get("/api/templates", headers={"Authorization": "Bearer test-token"}).json()
    keys = {(t["situation"], t["stage"], t["channel"], t["locale"]) for t in listed}
    assert ("service.disruption", "resolved", "sms", "pt-BR") in keys
    assert ("digest", "merged", "email", "en") in keys
    entry = next(t for t in listed if (t["situation"], t["stage"], t["channel"], t["locale"]) == tuple(KEY.split("/")))
    assert entry["published"]["author"] == "seed" and entry["drafts"] == []


def test_a_draft_with_errors_is_refused_at_their_line_and_column(rt: Runtime, client: TestClient) -> None:
    editor = bearer(rt, "ed@example.com", StaffRole.EDITOR)
    parts = current_parts(client, editor)
    parts["text"] = "Hi {{ customer.first_name }},\n\nYour order {{ customer.nickname }} is late.\n"
    refused = client.post(f"/api/templates/{KEY}/drafts", json=parts, headers=editor)
    assert refused.status_code == 400
    error = refused.json()["errors"][0]
    assert (error["part"], error["line"], error["column"]) == ("text", 3, 15)  # "Your order {{ " is 14 characters
    assert "customer.nickname" in error["message"]

    parts["text"] = "Hi {{ customer.first_name }}\n{% if %}\n"
    syntax = client.post(f"/api/templates/{KEY}/drafts", json=parts, headers=editor).json()["errors"][0]
    assert (syntax["part"], syntax["line"]) == ("text", 2) and "syntax error" in syntax["message"]


def test_a_variable_the_situation_does_not_provide_is_refused_with_the_reason(rt: Runtime, client: TestClient) -> None:
    editor = bearer(rt, "ed@example.com", StaffRole.EDITOR)
    key = "service.disruption/initial/sms/en"
    body = {"sms": "{{ brand.name }}: your order {{ order.id }} is affected. {{ links.status_page }}"}
    refused = client.post(f"/api/templates/{key}/drafts", json=body, headers=editor)
    assert refused.status_code == 400
    assert "does not provide" in refused.json()["errors"][0]["message"]


def test_preview_counts_the_sms_and_runs_the_checklist(rt: Runtime, client: TestClient) -> None:
    editor = bearer(rt, "ed@example.com", StaffRole.EDITOR)
    body = {
        "situation": "shipment.delayed",
        "stage": "initial",
        "channel": "sms",
        "locale": "en",
        "parts": {"sms": "{{ brand.name }}: Unfortunately your parcel is delayed! Kindly wait. Não se preocupe."},
        "context": "sample:first-delay",
    }
    shown = client.post("/api/templates/preview", json=body, headers=editor).json()
    assert shown["sms"].startswith("Acme: Unfortunately")
    assert (shown["encoding"], shown["segments"], shown["ucs2_characters"]) == ("UCS-2", 2, ["ã"])
    warned = {f["check"] for f in shown["findings"] if f["status"] == "warn"}
    assert {"trust-words", "exclamations", "stop-line", "owns-it"} <= warned
    kindly = next(f for f in shown["findings"] if f["check"] == "trust-words" and "Kindly" in (f["quote"] or ""))
    assert kindly["why"]
    bad = client.post("/api/templates/preview", json={**body, "context": "sample:outage"}, headers=editor)
    assert bad.status_code == 400 and "these fit" in bad.text


def test_only_an_approver_publishes_and_the_next_notice_uses_it(
    rt: Runtime, client: TestClient, clock: SimulatedClock
) -> None:
    editor = bearer(rt, "ed@example.com", StaffRole.EDITOR)
    approver = bearer(rt, "ap@example.com", StaffRole.APPROVER)
    parts = current_parts(client, editor)
    parts["subject"] = "NEW WORDING: " + parts["subject"]
    made = client.post(f"/api/templates/{KEY}/drafts", json=parts, headers=editor)
    assert made.status_code == 201, made.text
    version_id = made.json()["version_id"]
    assert made.json()["findings"]

    t = clock.now()
    post(
        client, clock, builders.customer_upserted(t - timedelta(days=3)), builders.order_created(t - timedelta(days=2))
    )
    post(client, clock, builders.shipment(t - timedelta(days=1), "in_transit"))
    post(client, clock, builders.shipment(t, "exception", exception="weather"))
    drain(rt)
    first = next(n for n in notices(rt) if n.channel == "email")
    assert not first.subject.startswith("NEW WORDING")  # drafts never send

    assert client.post(f"/api/templates/versions/{version_id}/publish", headers=editor).status_code == 403
    published = client.post(f"/api/templates/versions/{version_id}/publish", headers=approver)
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert client.post(f"/api/templates/versions/{version_id}/publish", headers=approver).status_code == 409

    t = clock.now()
    post(
        client,
        clock,
        builders.customer_upserted(t, cid="C2", email="bo@example.com", phone="+5511987650000"),
        builders.order_created(t - timedelta(days=2), order_id="B1", customer_id="C2"),
        builders.shipment(t - timedelta(hours=1), "in_transit", order_id="B1"),
    )
    post(client, clock, builders.shipment(t, "exception", exception="address", order_id="B1"))
    drain(rt)
    second = next(n for n in notices(rt) if n.channel == "email" and n.customer_id == "C2")
    assert second.subject.startswith("NEW WORDING") and second.template_version_id == version_id
    assert second.template.endswith("@v2")
    listed = client.get(f"/api/templates/{KEY}", headers=editor).json()
    assert listed["published"]["version_id"] == version_id
    assert [h["status"] for h in listed["history"]] == ["published", "superseded"]
    diff = client.get(f"/api/templates/versions/{listed['history'][1]['version_id']}/diff/{version_id}", headers=editor)
    assert any(row["kind"] == "replace" and "NEW WORDING" in row["right"] for row in diff.json()["parts"]["subject"])
    assert Path(rt.settings.outbox_dir).exists()
    assert first.template_version_id == listed["history"][1]["version_id"]


def test_preview_with_a_real_notice_shows_what_it_got_beside_the_draft(
    rt: Runtime, client: TestClient, clock: SimulatedClock
) -> None:
    editor = bearer(rt, "ed@example.com", StaffRole.EDITOR)
    t = clock.now()
    post(
        client, clock, builders.customer_upserted(t - timedelta(days=3)), builders.order_created(t - timedelta(days=2))
    )
    post(client, clock, builders.shipment(t - timedelta(days=1), "in_transit"))
    post(client, clock, builders.shipment(t, "exception", exception="weather"))
    drain(rt)
    notice = next(n for n in notices(rt) if n.channel == "email")
    parts = current_parts(client, editor)
    parts["subject"] = "Draft: " + parts["subject"]
    body = {
        "situation": "shipment.exception",
        "stage": "initial",
        "channel": "email",
        "locale": "en",
        "parts": parts,
        "context": f"notice:{notice.id}",
    }
    shown = client.post("/api/templates/preview", json=body, headers=editor).json()
    assert shown["sent"]["subject"] == notice.subject
    assert shown["subject"] == "Draft: " + notice.subject  # the same facts, the draft's words
    assert "Ana" in shown["text"] and shown["errors"] == []
    missing = client.post("/api/templates/preview", json={**body, "context": "notice:99999"}, headers=editor)
    assert missing.status_code == 400 and "no notice" in missing.text
