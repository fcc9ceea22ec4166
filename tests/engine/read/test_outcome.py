"""Where a notice stands, in the words staff read: each reason a notice was not sent, named plainly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.brakes.pause import PauseState
from engine.delivery.merging import FIXED
from engine.detection.outages.threads import REPLACED
from engine.models import Notice
from engine.read.outcome import outcome
from engine.vocabulary import Channel, NoticeStatus, SituationKind, Stage

NOW = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
RUNNING = PauseState(paused=False)


def notice(status: NoticeStatus, reason: str | None = None, **fields: object) -> Notice:
    values: dict[str, object] = {
        "id": 7,
        "situation_id": 1,
        "customer_id": "C1",
        "thread_key": "order:A1",
        "situation": SituationKind.SHIPMENT_DELAYED,
        "stage": Stage.INITIAL,
        "channel": Channel.SMS,
        "recipient": "+5511987654321",
        "template": "t",
        "body": "b",
        "status": status,
        "status_reason": reason,
        "send_at": NOW,
        "created_at": NOW,
        **fields,
    }
    return Notice(**values)


@pytest.mark.parametrize(
    ("reason", "kind", "words"),
    [
        (FIXED, "fixed", "fixed before it went"),
        ("parcel delivered before it was sent", "fixed", "fixed before it went"),
        (REPLACED, "overtaken", "replaced by newer news"),
        ("number opted out of SMS (replied STOP)", "opted_out", "the recipient opted out"),
        ("email address suppressed by smtp (user unknown)", "opted_out", "opted out"),
        ("number cannot receive texts (twilio 21614)", "undeliverable", "cannot receive"),
        ("email address undeliverable (550 5.1.1)", "undeliverable", "cannot receive"),
    ],
)
def test_each_reason_a_notice_was_dropped_is_named(reason: str, kind: str, words: str) -> None:
    said = outcome(notice(NoticeStatus.DROPPED, reason), pause=RUNNING, now=NOW)
    assert (said.state, said.reason) == ("not_sent", kind) and words in said.words


def test_waiting_says_what_for() -> None:
    later = NOW + timedelta(hours=9)
    quiet = outcome(notice(NoticeStatus.PENDING, send_at=later, deferred=True), pause=RUNNING, now=NOW)
    assert quiet.reason == "quiet_hours" and "2026-03-04T03:00:00Z" in quiet.words
    held = notice(NoticeStatus.PENDING, "held: 3 sms notices to this customer", send_at=later, deferred=True)
    assert outcome(held, pause=RUNNING, now=NOW).reason == "daily_limit"
    retry = notice(NoticeStatus.PENDING, "retrying: 429 Too Many Requests", send_at=later)
    assert outcome(retry, pause=RUNNING, now=NOW).reason == "retrying"
    assert outcome(notice(NoticeStatus.PENDING), pause=RUNNING, now=NOW).reason == "due"
    paused = PauseState(True, NOW, "staff:ops@example.com", "bad feed")
    said = outcome(notice(NoticeStatus.PENDING), pause=paused, now=NOW)
    assert said.reason == "paused" and "staff:ops@example.com" in said.words and "bad feed" in said.words


def test_merged_and_failed_notices_say_where_the_news_went_or_what_refused_it() -> None:
    merged = outcome(notice(NoticeStatus.MERGED, merged_into=12), pause=RUNNING, now=NOW)
    assert merged.merged_into == 12 and "Merged into notice 12" in merged.words
    refused = outcome(notice(NoticeStatus.FAILED, "twilio 21211: invalid number"), pause=RUNNING, now=NOW)
    assert refused.reason == "failed" and "twilio 21211" in refused.words
    broken = outcome(notice(NoticeStatus.FAILED, "template error: line 3"), pause=RUNNING, now=NOW)
    assert broken.reason == "template_error"
