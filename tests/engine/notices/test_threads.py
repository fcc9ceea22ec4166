"""Follow-ups stay in the first email's conversation: by headers and by subject, as mail clients thread.

The messages are read back exactly as the real SMTP server received them, with the stdlib parser.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from support import builders
from support.pipeline import drain, notices, post
from support.smtp_server import SmtpTestServer

from engine.clock import SimulatedClock
from engine.config import Settings
from engine.runtime import Runtime


@pytest.fixture
def settings(settings: Settings, smtp_server: SmtpTestServer) -> Settings:
    return settings.model_copy(update={"smtp_url": smtp_server.url()})


def test_updates_and_the_thank_you_reply_to_the_first_email_with_todays_news_as_subject(
    client: TestClient, rt: Runtime, clock: SimulatedClock, smtp_server: SmtpTestServer
) -> None:
    t = clock.now()
    post(
        client,
        clock,
        builders.customer_upserted(t - timedelta(days=3), channels=["email"]),
        builders.order_created(t - timedelta(days=2)),
        builders.shipment(t - timedelta(days=1), "in_transit"),
        builders.shipment(t, "exception", exception="weather"),
    )
    drain(rt)
    clock.advance(timedelta(hours=3))
    post(client, clock, builders.shipment(clock.now(), "lost"))
    drain(rt)
    clock.advance(timedelta(days=2))
    post(client, clock, builders.shipment(clock.now(), "delivered"))
    drain(rt)

    assert [(n.stage, n.status) for n in notices(rt)] == [
        ("initial", "sent"),
        ("update", "sent"),
        ("resolved", "sent"),
    ]
    first, update, thanks = (m.parsed() for m in smtp_server.messages)
    subject = str(first["Subject"])
    assert subject.startswith("Bad weather has held up your desk lamp")
    # Each subject carries its own news: the weather hold, then the loss, then the delivery; never the
    # first email's news again ("Re: Bad weather…" over a lost parcel would be false).
    assert str(update["Subject"]) == "The parcel with your desk lamp is lost — I'm so sorry"
    assert str(thanks["Subject"]).startswith("Delivered")
    for follow_up in (update, thanks):
        assert not str(follow_up["Subject"]).startswith("Re:")
        assert follow_up["In-Reply-To"] == first["Message-ID"]
        assert follow_up["References"] == first["Message-ID"]
        assert follow_up["Message-ID"] != first["Message-ID"]
    # The follow-up's own news still leads its body.
    body = thanks.get_body(preferencelist=("plain",))
    assert body is not None
    paragraphs = body.get_content().replace("\r\n", "\n").split("\n\n")
    assert "arrived" in paragraphs[1], paragraphs


def test_a_follow_up_to_a_first_email_that_failed_starts_afresh(
    client: TestClient, rt: Runtime, clock: SimulatedClock, smtp_server: SmtpTestServer
) -> None:
    t = clock.now()
    smtp_server.fail_next("554 5.6.0 Message content rejected")  # the first email never arrives
    post(
        client,
        clock,
        builders.customer_upserted(t - timedelta(days=3), channels=["email"]),
        builders.order_created(t - timedelta(days=2)),
        builders.shipment(t, "exception", exception="weather"),
    )
    drain(rt)
    clock.advance(timedelta(hours=3))
    post(client, clock, builders.shipment(clock.now(), "lost"))
    drain(rt)

    # The customer never got the first word, so the next one is their first word again.
    assert [(n.stage, n.status) for n in notices(rt)] == [("initial", "failed"), ("initial", "sent")]
    [update] = (m.parsed() for m in smtp_server.messages)
    assert update["In-Reply-To"] is None and update["References"] is None
    assert not str(update["Subject"]).startswith("Re:")
