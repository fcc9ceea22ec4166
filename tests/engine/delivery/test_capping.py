"""The daily cap: at most FOREWARN_MAX_NOTICES_PER_DAY warnings per customer and channel in any 24 hours;
more news waits for a slot and goes out merged into one message, never dropped (unless it was fixed)."""

from __future__ import annotations

import email
import email.policy
import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from support import builders
from support.pipeline import drain, notices, post

from engine.clock import SimulatedClock, format_instant
from engine.config import Settings
from engine.delivery.service import deliver
from engine.models import AuditEntry, Notice
from engine.policy.frequency import quota, should_merge
from engine.replay import replay
from engine.runtime import Runtime

ITEMS = ["Desk lamp", "Trail running shoes", "Coffee grinder", "Backpack", "Tea kettle"]
HOUR = timedelta(hours=1)


def audit_entries(rt: Runtime, action: str) -> list[AuditEntry]:
    with Session(rt.db) as session:
        statement = select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.seq))
        return list(session.exec(statement).all())


def eml(rt: Runtime, notice: Notice) -> EmailMessage:
    raw = (Path(rt.settings.outbox_dir) / f"{notice.id}.eml").read_bytes()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def plain(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def orders_go_wrong(
    client: TestClient,
    rt: Runtime,
    clock: SimulatedClock,
    count: int,
    *,
    channels: list[str],
    spacing: timedelta = HOUR,
) -> None:
    """`count` orders whose parcels hit bad weather one after another, `spacing` apart."""
    t = clock.now()
    events = [builders.customer_upserted(t - timedelta(days=3), channels=channels)]
    for i in range(count):
        order = f"A{100 + i}"
        events.append(
            builders.order_created(t - timedelta(days=2), order_id=order, lines=[{"name": ITEMS[i], "quantity": 1}])
        )
        events.append(builders.shipment(t - timedelta(days=1), "in_transit", order_id=order))
    post(client, clock, *events)
    drain(rt)
    for i in range(count):
        post(client, clock, builders.shipment(clock.now(), "exception", order_id=f"A{100 + i}", exception="weather"))
        drain(rt)
        clock.advance(spacing)


def test_the_quota_slides_with_the_window() -> None:
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    sent = [now - timedelta(hours=h) for h in (30, 20, 10, 1)]  # the one 30 h ago is out of the window
    usage = quota(sent, limit=3, now=now)
    assert (usage.used, usage.remaining, usage.frees_at) == (3, 0, now - timedelta(hours=20) + timedelta(hours=24))
    assert quota(sent, limit=4, now=now).frees_at is None
    assert quota(sent, limit=0, now=now).capped is False  # 0 turns the cap off
    # Merge only when more is due at once than there are slots: two due, one slot → one message.
    assert should_merge(quota(sent[:3], limit=3, now=now), 2)
    assert not should_merge(quota(sent[:3], limit=3, now=now), 1)
    assert not should_merge(quota([], limit=3, now=now), 3)
    assert should_merge(quota([], limit=3, now=now), 4)


def test_the_fourth_warning_waits_and_goes_out_merged_with_the_fifth(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    start = clock.now()
    orders_go_wrong(client, rt, clock, 5, channels=["email"])

    first = notices(rt)
    assert [(n.order_id, n.status) for n in first] == [
        ("A100", "sent"),
        ("A101", "sent"),
        ("A102", "sent"),
        ("A103", "pending"),
        ("A104", "pending"),
    ]
    slot = start + timedelta(hours=24)  # the first email leaves the rolling window
    for held in first[3:]:
        assert held.send_at == slot
        assert (held.status_reason or "").startswith("held: 3 email notices to this customer in the last 24 h")
    assert [e.subject for e in audit_entries(rt, "notice.held")] == [f"notice:{n.id}" for n in first[3:]]
    assert not (Path(rt.settings.outbox_dir) / f"{first[3].id}.eml").exists()

    clock.set(slot - timedelta(minutes=1))
    drain(rt)
    assert [n.status for n in notices(rt)][3:] == ["pending", "pending"]  # not a minute early
    clock.set(slot)
    drain(rt)

    after = notices(rt)
    digest = after[-1]
    assert (digest.situation, digest.stage, digest.status, digest.channel) == ("digest", "merged", "sent", "email")
    assert [(n.order_id, n.status, n.merged_into) for n in after[3:5]] == [
        ("A103", "merged", digest.id),
        ("A104", "merged", digest.id),
    ]
    message = eml(rt, digest)
    assert message["Subject"] == "News on your backpack and tea kettle"
    text = plain(message)
    assert text.startswith("Hi Ana,\n\nI'm sorry: there's news about two of your orders at once")
    assert "Your backpack (order A103): bad weather has held up the parcel." in text
    assert "Your tea kettle (order A104): bad weather has held up the parcel." in text
    links = re.findall(r"Track it: https://notify\.example\.com(/s/\S+)", text)  # each order's own page
    assert len(set(links)) == 2 and all(client.get(link).status_code == 200 for link in links)
    merged = audit_entries(rt, "notice.merged")
    assert [(e.subject, e.details["merged_into"]) for e in merged] == [
        (f"notice:{after[3].id}", digest.id),
        (f"notice:{after[4].id}", digest.id),
    ]

    clock.advance(timedelta(minutes=30))  # the 19:00 and 20:00 emails and the digest: still three in 24 h
    post(client, clock, builders.shipment(clock.now(), "lost", order_id="A100"))
    drain(rt)
    assert notices(rt)[-1].status == "pending" and (notices(rt)[-1].status_reason or "").startswith("held: 3 ")


def test_a_held_warning_about_a_parcel_that_arrived_is_dropped_and_the_rest_goes_alone(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    start = clock.now()
    orders_go_wrong(client, rt, clock, 5, channels=["email"])
    post(client, clock, builders.shipment(clock.now(), "delivered", order_id="A103"))
    drain(rt)

    clock.set(start + timedelta(hours=24))
    drain(rt)

    got = {(n.order_id, n.stage): n for n in notices(rt)}
    assert got[("A103", "initial")].status == "dropped"
    assert ("A103", "resolved") not in got  # never warned, so no thank-you either
    alone = got[("A104", "initial")]
    assert (alone.status, alone.merged_into, alone.situation) == ("sent", None, "shipment.exception")
    assert alone.status_reason is None
    assert "tea kettle" in plain(eml(rt, alone)).lower()
    assert [n.situation for n in notices(rt)].count("digest") == 0


def test_thank_you_follow_ups_are_never_held(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    orders_go_wrong(client, rt, clock, 3, channels=["email"])

    post(client, clock, builders.shipment(clock.now(), "delivered", order_id="A100"))
    drain(rt)

    thanks = notices(rt)[-1]
    assert (thanks.order_id, thanks.stage, thanks.status) == ("A100", "resolved", "sent")


def test_each_channel_has_its_own_quota(
    client: TestClient, rt: Runtime, clock: SimulatedClock, settings: Settings
) -> None:
    rt.settings = settings.model_copy(update={"max_notices_per_day": 1})
    orders_go_wrong(client, rt, clock, 2, channels=["email", "sms"])

    assert [(n.order_id, n.channel, n.status) for n in notices(rt)] == [
        ("A100", "email", "sent"),
        ("A100", "sms", "sent"),  # told by email and by text about one thing: one of each used
        ("A101", "email", "pending"),
        ("A101", "sms", "pending"),
    ]


def test_a_held_text_still_respects_quiet_hours_across_the_dst_change(
    client: TestClient, rt: Runtime, clock: SimulatedClock, settings: Settings
) -> None:
    rt.settings = settings.model_copy(update={"max_notices_per_day": 1})
    new_york = ZoneInfo("America/New_York")
    clock.set(datetime(2026, 3, 7, 20, 30, tzinfo=new_york))  # Saturday 20:30 EST; clocks spring forward tonight
    orders_go_wrong(client, rt, clock, 2, channels=["sms"], spacing=timedelta(minutes=15))

    sent, held = notices(rt)
    assert sent.status == "sent"
    # A day after 20:30 EST is 21:30 EDT, inside quiet hours: the text waits for the morning.
    assert held.status == "pending"
    assert held.send_at.astimezone(new_york) == datetime(2026, 3, 9, 8, 0, tzinfo=new_york)


def test_news_merged_into_a_digest_counts_as_told(client: TestClient, rt: Runtime, clock: SimulatedClock) -> None:
    start = clock.now()
    orders_go_wrong(client, rt, clock, 5, channels=["email"])
    clock.set(start + timedelta(hours=24))
    drain(rt)
    digest = notices(rt)[-1]
    assert digest.situation == "digest" and digest.status == "sent"
    clock.set(start + timedelta(days=2))  # the window is clear again

    post(client, clock, builders.shipment(clock.now(), "lost", order_id="A103"))
    drain(rt)
    clock.advance(HOUR)
    post(client, clock, builders.shipment(clock.now(), "delivered", order_id="A104"))
    drain(rt)

    update, thanks = notices(rt)[-2:]
    # Not a second "initial" for A103: the digest was its first word. Its own first email never went out,
    # so the update starts a thread of its own instead of answering a message the customer never got.
    assert (update.order_id, update.stage, update.status, update.in_reply_to) == ("A103", "update", "sent", None)
    assert not (update.subject or "").startswith("Re:")
    assert (thanks.order_id, thanks.stage, thanks.status) == ("A104", "resolved", "sent")


def test_replay_writes_a_digest_once_per_order_it_covers(tmp_path: Path) -> None:
    t = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
    events = [builders.customer_upserted(t - timedelta(days=3), channels=["email"])]
    for i in range(3):
        order = f"A{100 + i}"
        events.append(
            builders.order_created(t - timedelta(days=2), order_id=order, lines=[{"name": ITEMS[i], "quantity": 1}])
        )
        events.append(builders.shipment(t - timedelta(days=1), "in_transit", order_id=order))
        events.append(builders.shipment(t + i * HOUR, "exception", order_id=order, exception="weather"))
    trace = tmp_path / "trace.jsonl"
    trace.write_text("".join(json.dumps(event) + "\n" for event in events))
    out = tmp_path / "notices.jsonl"
    settings = Settings(max_notices_per_day=1, _env_file=None)  # type: ignore[call-arg]

    summary = replay(trace, out, settings=settings, until=t + timedelta(days=2))

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(n["order_id"], n["situation"], n["stage"], n["send_at"]) for n in lines] == [
        ("A100", "shipment.exception", "initial", format_instant(t)),
        ("A101", "shipment.exception", "initial", format_instant(t + timedelta(hours=24))),
        ("A102", "shipment.exception", "initial", format_instant(t + timedelta(hours=24))),
    ]  # A100's check-in is promised days later (docs/delivery.md §10), past this window
    assert lines[1]["template"].startswith("digest/merged.email")
    assert lines[1]["body"] == lines[2]["body"] and "A101" in lines[1]["body"] and "A102" in lines[1]["body"]
    assert lines[1]["notice_id"] == lines[2]["notice_id"]  # one message
    assert summary.merged == 2  # the two warnings


def test_a_check_in_held_by_the_daily_limit_goes_in_the_same_digest(tmp_path: Path) -> None:
    t = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
    events = [builders.customer_upserted(t - timedelta(days=3), channels=["email"])]
    # A100 goes wrong first; A101 and A102 go wrong around the time A100's check-in falls due.
    for i, at in enumerate((t, t + timedelta(days=4) - HOUR, t + timedelta(days=4))):
        order = f"A{100 + i}"
        events.append(
            builders.order_created(t - timedelta(days=2), order_id=order, lines=[{"name": ITEMS[i], "quantity": 1}])
        )
        events.append(builders.shipment(t - timedelta(days=1), "in_transit", order_id=order))
        events.append(builders.shipment(at, "exception", order_id=order, exception="weather"))
    trace = tmp_path / "trace.jsonl"
    trace.write_text("".join(json.dumps(event) + "\n" for event in events))
    out = tmp_path / "notices.jsonl"
    settings = Settings(max_notices_per_day=1, _env_file=None)  # type: ignore[call-arg]

    replay(trace, out, settings=settings, until=t + timedelta(days=6))

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    held = [n for n in lines if n["template"].startswith("digest/merged.email")]
    # A102's first warning and A100's check-in both wait for the day's one slot, and go as one message.
    assert [(n["order_id"], n["stage"]) for n in held] == [("A102", "initial"), ("A100", "update")]
    assert held[0]["notice_id"] == held[1]["notice_id"]


@pytest.mark.parametrize("limit", [0, 5])
def test_no_cap_or_a_roomy_one_holds_nothing(
    client: TestClient, rt: Runtime, clock: SimulatedClock, settings: Settings, limit: int
) -> None:
    rt.settings = settings.model_copy(update={"max_notices_per_day": limit})
    orders_go_wrong(client, rt, clock, 5, channels=["email"])
    assert [n.status for n in notices(rt)] == ["sent"] * 5


def test_workers_claiming_at_once_send_one_message_for_the_last_slot(
    client: TestClient, rt: Runtime, clock: SimulatedClock, settings: Settings
) -> None:
    rt.settings = settings.model_copy(update={"max_notices_per_day": 1})
    clock.set(datetime(2026, 3, 10, 3, 0, tzinfo=UTC))  # 23:00 in New York: every text waits for 08:00
    orders_go_wrong(client, rt, clock, 3, channels=["sms"], spacing=timedelta(minutes=5))
    waiting = notices(rt)
    assert [n.status for n in waiting] == ["pending"] * 3
    clock.set(waiting[0].send_at)

    # Three workers pick up the three texts at the same moment (the relay queued them together).
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda n: deliver(rt, [n.id or 0], jitter=False), waiting))

    after = notices(rt)
    sent = [n for n in after if n.status == "sent"]
    assert len(sent) == 1 and sent[0].situation == "digest"  # one slot, one text naming all three
    assert sorted(n.merged_into or 0 for n in after if n.status == "merged") == [sent[0].id] * 3
    assert all(item.lower() in sent[0].body for item in ITEMS[:3])
