"""The development channels write real, readable messages to disk."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from engine.clock import SimulatedClock
from engine.config import Settings
from engine.delivery.channel import OutboundMessage
from engine.errors import TemplateError
from integrations.channels import FileEmailChannel, FileSmsChannel, build_channels

NOW = datetime(2025, 3, 4, 14, 30, tzinfo=UTC)
SENDER = "Boulangerie Élise <notices@shop.example>"


def email_notice(**overrides: object) -> OutboundMessage:
    fields: dict[str, object] = {
        "notice_id": 42,
        "channel": "email",
        "recipient": "ana@example.com",
        "subject": "Votre commande est retardée — ご注文の遅延",
        "body": "Bonjour Ana,\nVotre colis arrivera jeudi. 申し訳ありません。\n",
        "html": "<p>Bonjour Ana,</p><p>Votre colis arrivera <b>jeudi</b>. 申し訳ありません。</p>",
        "message_id": "notice-42@shop.example",
        "unsubscribe_url": "https://shop.example/unsubscribe/abc",
    }
    fields.update(overrides)
    return OutboundMessage(**fields)  # type: ignore[arg-type]


def read_eml(path: Path) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(path.read_bytes())


@pytest.fixture
def channel(tmp_path: Path) -> FileEmailChannel:
    return FileEmailChannel(tmp_path / "outbox", sender=SENDER, clock=SimulatedClock(NOW))


def test_email_is_written_as_a_readable_eml_file(channel: FileEmailChannel, tmp_path: Path) -> None:
    result = channel.send(email_notice())

    assert result.ok and result.provider_id == "file:42.eml"
    msg = read_eml(tmp_path / "outbox" / "42.eml")
    assert msg["From"] == SENDER
    assert msg["To"] == "ana@example.com"
    assert msg["Subject"] == "Votre commande est retardée — ご注文の遅延"
    assert parsedate_to_datetime(msg["Date"]) == NOW
    assert msg["Message-ID"] == "<notice-42@shop.example>"
    assert msg["List-Unsubscribe"] == "<https://shop.example/unsubscribe/abc>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # RFC 8058 one-click
    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content() == "Bonjour Ana,\nVotre colis arrivera jeudi. 申し訳ありません。\n"
    assert "<b>jeudi</b>. 申し訳ありません。" in html.get_content()
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == ["42.eml"]  # no temp files left


def test_the_file_uses_crlf_line_endings_and_ascii_only_headers(channel: FileEmailChannel, tmp_path: Path) -> None:
    channel.send(email_notice())

    raw = (tmp_path / "outbox" / "42.eml").read_bytes()
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nSubject: " in header_block
    header_block.decode("ascii")  # non-ASCII subjects travel as RFC 2047 encoded words


def test_follow_up_threads_under_the_first_notice(channel: FileEmailChannel, tmp_path: Path) -> None:
    channel.send(email_notice(notice_id=43, message_id="notice-43@shop.example", in_reply_to="notice-42@shop.example"))

    msg = read_eml(tmp_path / "outbox" / "43.eml")
    assert msg["In-Reply-To"] == "<notice-42@shop.example>"
    assert msg["References"] == "<notice-42@shop.example>"


def test_text_only_email_has_a_single_plain_part(channel: FileEmailChannel, tmp_path: Path) -> None:
    channel.send(email_notice(html=None))

    msg = read_eml(tmp_path / "outbox" / "42.eml")
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"


def test_reply_to_is_set_when_configured(tmp_path: Path) -> None:
    channel = FileEmailChannel(tmp_path, sender=SENDER, reply_to="help@shop.example", clock=SimulatedClock(NOW))
    channel.send(email_notice())

    assert read_eml(tmp_path / "42.eml")["Reply-To"] == "help@shop.example"


def test_redelivery_overwrites_the_same_file(channel: FileEmailChannel, tmp_path: Path) -> None:
    channel.send(email_notice())
    channel.send(email_notice(subject="Second try"))

    assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["42.eml"]
    assert read_eml(tmp_path / "outbox" / "42.eml")["Subject"] == "Second try"


@pytest.mark.parametrize(
    "overrides",
    [
        {"subject": "Delayed\r\nBcc: everyone@example.com"},
        {"subject": "Delayed\nagain"},
        {"recipient": "ana@example.com\r\nBcc: x@example.com"},
        {"headers": {"X-Note": "a\r\nb"}},
        {"in_reply_to": "notice-1@shop.example\r\nX-Evil: 1"},
        {"unsubscribe_url": "https://shop.example/u/abc\r\nBcc: x@example.com"},
    ],
)
def test_line_breaks_in_headers_are_refused(
    channel: FileEmailChannel, tmp_path: Path, overrides: dict[str, object]
) -> None:
    with pytest.raises(TemplateError, match="line break"):
        channel.send(email_notice(**overrides))
    assert not (tmp_path / "outbox").exists()


def test_notice_headers_cannot_replace_the_channels_own(channel: FileEmailChannel) -> None:
    with pytest.raises(TemplateError, match="set by the email channel"):
        channel.send(email_notice(headers={"From": "ceo@example.com"}))


def test_an_email_without_subject_is_a_template_error(channel: FileEmailChannel) -> None:
    with pytest.raises(TemplateError, match="subject"):
        channel.send(email_notice(subject=None))


def test_sms_is_written_as_json(tmp_path: Path) -> None:
    channel = FileSmsChannel(tmp_path / "sms", count_segments=lambda text: 2)
    message = OutboundMessage(
        notice_id=7,
        channel="sms",
        recipient="+14155550100",
        body="Your order #1001 is delayed; new ETA Thu. Reply STOP to opt out. ✓",
    )

    result = channel.send(message)

    assert result.ok and result.provider_id == "file:7.json"
    assert json.loads((tmp_path / "sms" / "7.json").read_text(encoding="utf-8")) == {
        "to": "+14155550100",
        "body": "Your order #1001 is delayed; new ETA Thu. Reply STOP to opt out. ✓",
        "segments": 2,
    }


def test_sms_without_a_segment_counter_records_none(tmp_path: Path) -> None:
    FileSmsChannel(tmp_path).send(OutboundMessage(notice_id=8, channel="sms", recipient="+14155550100", body="Hi"))

    assert json.loads((tmp_path / "8.json").read_text())["segments"] is None


def test_build_channels_defaults_to_files(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, outbox_dir=str(tmp_path / "outbox"), sms_dir=str(tmp_path / "sms"))

    channels = build_channels(settings, SimulatedClock(NOW))

    assert isinstance(channels["email"], FileEmailChannel)
    assert isinstance(channels["sms"], FileSmsChannel)
    channels["email"].send(email_notice())
    assert read_eml(tmp_path / "outbox" / "42.eml")["From"] == "Forewarn <notices@localhost>"
    long_text = "Forewarn Store: " + "your parcel is on its way " * 6  # 172 GSM-7 characters: two segments
    channels["sms"].send(OutboundMessage(notice_id=9, channel="sms", recipient="+14155550100", body=long_text))
    assert json.loads((tmp_path / "sms" / "9.json").read_text())["segments"] == 2


@pytest.mark.parametrize("padding", range(0, 41, 4))
def test_a_long_subject_reads_back_exactly_as_written(tmp_path: Path, padding: int) -> None:
    subject = "x" * padding + "Bad weather has held up your espresso grinder and coffee beans — new estimate Saturday"
    channel = FileEmailChannel(str(tmp_path))
    channel.send(
        OutboundMessage(
            notice_id=1,
            channel="email",
            recipient="sam@example.com",
            body="Hi",
            subject=subject,
            html="<p>Hi</p>",
            message_id="n1@example.com",
        )
    )
    parsed = BytesParser(policy=policy.default).parsebytes((tmp_path / "1.eml").read_bytes())
    assert parsed["Subject"] == subject
