"""A permanent SMTP 5xx about the mailbox fails the notice and marks the address: no proactive email goes
there again until the customer's address changes or staff clear it (audited, listed in the API)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from support import builders
from support.pipeline import drain, notices, post, route_skipped
from support.smtp_server import SmtpTestServer

from engine.clock import SimulatedClock
from engine.config import Settings
from engine.models import AuditEntry
from engine.runtime import Runtime

AUTH = {"Authorization": "Bearer test-token"}
USER_UNKNOWN = "550 5.1.1 <ana@example.com>: Recipient address rejected: User unknown"


@pytest.fixture
def settings(settings: Settings, smtp_server: SmtpTestServer) -> Settings:
    return settings.model_copy(update={"smtp_url": smtp_server.url()})


def audit_entries(rt: Runtime, action: str) -> list[AuditEntry]:
    with Session(rt.db) as session:
        statement = select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.seq))
        return list(session.exec(statement).all())


def trouble(client: TestClient, clock: SimulatedClock, order_id: str) -> None:
    t = clock.now()
    post(
        client,
        clock,
        builders.order_created(t - timedelta(days=2), order_id=order_id),
        builders.shipment(t, "exception", order_id=order_id, exception="weather"),
    )


def test_a_mailbox_that_does_not_exist_gets_no_more_email_until_it_changes(
    client: TestClient, rt: Runtime, clock: SimulatedClock, smtp_server: SmtpTestServer
) -> None:
    post(client, clock, builders.customer_upserted(clock.now() - timedelta(days=3), email="Ana@Example.com"))
    smtp_server.fail_next(USER_UNKNOWN, stage="rcpt")
    trouble(client, clock, "A1")
    drain(rt)

    [bounced, text] = notices(rt)
    assert (bounced.channel, bounced.status, bounced.status_reason) == ("email", "failed", USER_UNKNOWN)
    assert (text.channel, text.status) == ("sms", "sent")  # the text is another route: it still goes
    listed = client.get("/api/suppressions", params={"channel": "email"}, headers=AUTH).json()["items"]
    assert [(s["address"], s["source"], s["reason"]) for s in listed] == [("ana@example.com", "smtp", USER_UNKNOWN)]
    [added] = audit_entries(rt, "suppression.added")
    assert added.details["address"] == "a***@example.com"  # the chain keeps who, not a usable address
    assert [e.details.get("address_suppressed") for e in audit_entries(rt, "notice.failed")] == [True]

    clock.advance(timedelta(hours=2))
    trouble(client, clock, "A2")
    drain(rt)
    assert [(n.order_id, n.channel) for n in notices(rt)][2:] == [("A2", "sms")]
    [skipped] = audit_entries(rt, "notice.suppressed")
    assert skipped.details["channel"] == "email"
    assert skipped.details["reason"] == f"email address undeliverable ({USER_UNKNOWN})"
    assert len(smtp_server.messages) == 0

    clock.advance(timedelta(hours=2))  # the customer fixes their address
    post(client, clock, builders.customer_upserted(clock.now(), email="ana.souza@example.com"))
    trouble(client, clock, "A3")
    drain(rt)
    assert [m.rcpt_tos for m in smtp_server.messages] == [["ana.souza@example.com"]]


def test_staff_can_clear_an_address_and_mail_goes_there_again(
    client: TestClient, rt: Runtime, clock: SimulatedClock, smtp_server: SmtpTestServer
) -> None:
    post(client, clock, builders.customer_upserted(clock.now() - timedelta(days=3), channels=["email"]))
    smtp_server.fail_next("550 5.1.1 No such user here", stage="rcpt")
    trouble(client, clock, "A1")
    drain(rt)
    assert route_skipped(rt, "email") == "email address undeliverable (550 5.1.1 No such user here)"
    [entry] = client.get("/api/suppressions", params={"address": "ANA@example.com "}, headers=AUTH).json()["items"]

    assert client.delete(f"/api/suppressions/{entry['id']}").status_code == 401  # the token is required
    cleared = client.delete(f"/api/suppressions/{entry['id']}", params={"reason": "mailbox recreated"}, headers=AUTH)
    assert cleared.status_code == 200
    assert client.delete(f"/api/suppressions/{entry['id']}", headers=AUTH).status_code == 404
    [removed] = audit_entries(rt, "suppression.removed")
    assert (removed.actor, removed.details["reason"]) == ("staff:api", "mailbox recreated")
    assert client.get("/api/suppressions", headers=AUTH).json()["items"] == []

    clock.advance(timedelta(hours=2))
    trouble(client, clock, "A2")
    drain(rt)
    assert [m.rcpt_tos for m in smtp_server.messages] == [["ana@example.com"]]


def test_a_refusal_about_the_message_does_not_mark_the_address(
    client: TestClient, rt: Runtime, clock: SimulatedClock, smtp_server: SmtpTestServer
) -> None:
    post(client, clock, builders.customer_upserted(clock.now() - timedelta(days=3), channels=["email"]))
    smtp_server.fail_next("550 5.7.1 Message refused by policy")
    trouble(client, clock, "A1")
    drain(rt)

    assert [(n.status, n.status_reason) for n in notices(rt)] == [("failed", "550 5.7.1 Message refused by policy")]
    assert route_skipped(rt, "email") is None
    assert client.get("/api/suppressions", headers=AUTH).json()["items"] == []


def test_the_suppression_list_needs_the_token(client: TestClient) -> None:
    assert client.get("/api/suppressions").status_code == 401


def test_a_relay_refusing_everyone_does_not_empty_the_mailing_list(
    client: TestClient, rt: Runtime, clock: SimulatedClock, smtp_server: SmtpTestServer
) -> None:
    """Past FOREWARN_MAX_REFUSED_ADDRESSES_PER_HOUR (2 here) refusals still fail their notice, but the
    addresses are not marked: that many dead mailboxes in an hour is more likely a misconfigured relay."""
    rt.settings = rt.settings.model_copy(update={"max_refused_addresses_per_hour": 2})
    for n in range(4):
        cid, email = f"C{n}", f"c{n}@example.com"
        post(client, clock, builders.customer_upserted(clock.now(), cid=cid, email=email, channels=["email"]))
        smtp_server.fail_next(f"550 5.1.1 <{email}>: User unknown", stage="rcpt")
        t = clock.now()
        post(
            client,
            clock,
            builders.order_created(t - timedelta(days=2), order_id=f"A{n}", customer_id=cid),
            builders.shipment(t, "exception", order_id=f"A{n}", exception="weather"),
        )
        drain(rt)
    assert [n.status for n in notices(rt)] == ["failed"] * 4
    listed = client.get("/api/suppressions", params={"channel": "email"}, headers=AUTH).json()["items"]
    assert sorted(s["address"] for s in listed) == ["c0@example.com", "c1@example.com"]
    assert [e.details.get("address_suppressed") for e in audit_entries(rt, "notice.failed")] == [
        True,
        True,
        False,
        False,
    ]
    withheld = audit_entries(rt, "suppression.withheld")
    assert [(e.details["source"], e.details["addresses"]) for e in withheld] == [("smtp", 1), ("smtp", 1)]

    clock.advance(timedelta(hours=1, minutes=1))  # a new hour: the next refusal marks its address again
    post(client, clock, builders.customer_upserted(clock.now(), cid="C9", email="c9@example.com", channels=["email"]))
    smtp_server.fail_next("550 5.1.1 <c9@example.com>: User unknown", stage="rcpt")
    t = clock.now()
    post(
        client,
        clock,
        builders.order_created(t - timedelta(days=2), order_id="A9", customer_id="C9"),
        builders.shipment(t, "exception", order_id="A9", exception="weather"),
    )
    drain(rt)
    listed = client.get("/api/suppressions", params={"channel": "email"}, headers=AUTH).json()["items"]
    assert "c9@example.com" in {s["address"] for s in listed}
