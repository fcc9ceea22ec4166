"""RFC 8058 one-click unsubscribe: no login, no cookies, takes effect before the next send."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from support import builders
from support.pipeline import drain

from engine.clock import SimulatedClock
from engine.models import Customer, Notice
from engine.runtime import Runtime


def warn(client: TestClient, rt: Runtime, clock: SimulatedClock, order_id: str, **customer: object) -> None:
    t = clock.now()
    events = [
        builders.customer_upserted(t, channels=["email"], **customer),
        builders.order_created(t, order_id=order_id),
        builders.shipment(t, "exception", order_id=order_id, exception="damaged"),
    ]
    body, headers = builders.signed(events, now=t)
    assert client.post("/webhooks/events", content=body, headers=headers).status_code == 202
    drain(rt)


def unsubscribe_link(rt: Runtime) -> tuple[str, str]:
    with Session(rt.db) as session:
        notice = session.exec(select(Notice).order_by(col(Notice.id).desc())).first()
    assert notice is not None
    message = email.message_from_bytes(
        (Path(rt.settings.outbox_dir) / f"{notice.id}.eml").read_bytes(), policy=email.policy.default
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message["List-Unsubscribe"].strip("<>")
    assert url.startswith("https://notify.example.com/unsubscribe/")
    return url.removeprefix("https://notify.example.com"), message.get_body(preferencelist=("plain",)).get_content()


def test_one_click_post_stops_the_next_email(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    warn(client, rt, clock, "A1")
    path, text = unsubscribe_link(rt)
    assert path in text  # the same link is in the message for people, not only in the header
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "unsubscribed" in response.text
    with Session(rt.db) as session:
        assert session.get(Customer, "C1").email_opted_out
    clock.advance(timedelta(hours=1))
    warn(client, rt, clock, "A2")
    with Session(rt.db) as session:
        assert session.exec(select(Notice).where(Notice.order_id == "A2")).all() == []
    audit = client.get(
        "/api/audit", params={"action": "customer.email_unsubscribed"}, headers={"Authorization": "Bearer test-token"}
    ).json()["items"]
    assert len(audit) == 1


def test_get_shows_a_page_and_undo_resubscribes(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    warn(client, rt, clock, "A1")
    path, _ = unsubscribe_link(rt)
    page = client.get(path)
    assert page.status_code == 200 and "<form" in page.text
    with Session(rt.db) as session:
        assert not session.get(Customer, "C1").email_opted_out  # a GET (e.g. a link scanner) changes nothing
    client.post(path)
    undone = client.post(f"{path}?undo=1")
    assert undone.status_code == 200 and "subscribed again" in undone.text
    with Session(rt.db) as session:
        assert not session.get(Customer, "C1").email_opted_out


def test_a_forged_token_is_refused(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    warn(client, rt, clock, "A1")
    path, _ = unsubscribe_link(rt)
    payload = path.rsplit("/", 1)[1].split(".")[0]
    assert client.post(f"/unsubscribe/{payload}.forged").status_code == 404
    assert client.post("/unsubscribe/QzI.anything").status_code == 404
    with Session(rt.db) as session:
        assert not session.get(Customer, "C1").email_opted_out


def test_a_customer_s_own_quiet_hours_override_the_default(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    # 18:00 UTC is 13:00 in New York: outside the default window, inside this customer's own.
    t = clock.now()
    events = [
        builders.customer_upserted(t, channels=["sms"], quiet_hours="12:00-15:00"),
        builders.order_created(t),
        builders.shipment(t, "exception", exception="damaged"),
    ]
    body, headers = builders.signed(events, now=t)
    assert client.post("/webhooks/events", content=body, headers=headers).status_code == 202
    drain(rt)
    with Session(rt.db) as session:
        [sms] = session.exec(select(Notice)).all()
    assert sms.deferred and sms.send_at == t + timedelta(hours=2)
