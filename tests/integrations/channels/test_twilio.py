"""The Twilio channel: the real twilio client, through httpx, against a local Twilio-compatible server."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator

import pytest
from support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

from engine.clock import SystemClock
from engine.config import Settings
from engine.delivery.channel import OutboundMessage
from integrations.channels import TwilioSmsChannel, build_channels

FROM = "+15005550006"
CALLBACK = "http://127.0.0.1:8000/webhooks/twilio/status"


def sms(**overrides: object) -> OutboundMessage:
    fields: dict[str, object] = {
        "notice_id": 7,
        "channel": "sms",
        "recipient": "+14155550100",
        "body": "Forewarn Store: order #1001 is delayed, new ETA Thu. Sorry! Reply STOP to opt out.",
    }
    fields.update(overrides)
    return OutboundMessage(**fields)  # type: ignore[arg-type]


@pytest.fixture
def channel(fake_twilio: FakeTwilio) -> Iterator[TwilioSmsChannel]:
    channel = TwilioSmsChannel(
        ACCOUNT_SID, AUTH_TOKEN, from_number=FROM, base_url=fake_twilio.base_url, status_callback=CALLBACK
    )
    yield channel
    channel.close()


def test_the_message_reaches_twilio(channel: TwilioSmsChannel, fake_twilio: FakeTwilio) -> None:
    result = channel.send(sms())

    assert result.ok
    [request] = fake_twilio.requests
    assert request.account_sid == ACCOUNT_SID
    assert request.form["To"] == "+14155550100"
    assert request.form["From"] == FROM
    assert request.form["Body"] == sms().body
    assert request.form["StatusCallback"] == CALLBACK
    assert result.provider_id is not None and re.fullmatch(r"SM[0-9a-f]{32}", result.provider_id)


def test_each_message_gets_its_own_sid(channel: TwilioSmsChannel, fake_twilio: FakeTwilio) -> None:
    first, second = channel.send(sms()), channel.send(sms(notice_id=8, body="Délai: jeudi ✓"))

    assert first.provider_id != second.provider_id
    assert fake_twilio.requests[1].form["Body"] == "Délai: jeudi ✓"


def test_a_messaging_service_replaces_the_from_number(fake_twilio: FakeTwilio) -> None:
    service = "MG" + "a" * 32
    channel = TwilioSmsChannel(ACCOUNT_SID, AUTH_TOKEN, messaging_service_sid=service, base_url=fake_twilio.base_url)
    result = channel.send(sms())
    channel.close()

    assert result.ok
    form = fake_twilio.requests[0].form
    assert form["MessagingServiceSid"] == service
    assert "From" not in form and "StatusCallback" not in form


def test_429_is_transient_with_retry_after(channel: TwilioSmsChannel, fake_twilio: FakeTwilio) -> None:
    fake_twilio.rate_limit_next(retry_after=7)

    limited = channel.send(sms())
    retried = channel.send(sms())

    assert not limited.ok and not limited.permanent
    assert limited.retry_after == 7.0
    assert limited.error == "twilio 20429: Too Many Requests"
    assert retried.ok


def test_server_error_is_transient(channel: TwilioSmsChannel, fake_twilio: FakeTwilio) -> None:
    fake_twilio.server_error_next()

    result = channel.send(sms())

    assert not result.ok and not result.permanent and result.retry_after is None
    assert result.error == "twilio 20500: Internal Server Error"


def test_unsubscribed_recipient_is_rejected(channel: TwilioSmsChannel, fake_twilio: FakeTwilio) -> None:
    fake_twilio.unsubscribed_next()

    result = channel.send(sms())

    assert not result.ok and result.permanent
    assert result.error == "twilio 21610: Attempt to send to unsubscribed recipient"


def test_wrong_credentials_are_rejected(fake_twilio: FakeTwilio) -> None:
    channel = TwilioSmsChannel(ACCOUNT_SID, "not-the-token", from_number=FROM, base_url=fake_twilio.base_url)
    result = channel.send(sms())
    channel.close()

    assert not result.ok and result.permanent
    assert result.error == "twilio 20003: Authenticate"
    assert fake_twilio.requests == []


def test_an_unreachable_api_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        channel = TwilioSmsChannel(ACCOUNT_SID, AUTH_TOKEN, from_number=FROM, base_url=f"http://127.0.0.1:{port}")
        result = channel.send(sms())
        channel.close()

    assert not result.ok and not result.permanent
    assert result.error is not None and "ConnectError" in result.error


def test_nothing_personal_is_logged(
    channel: TwilioSmsChannel, fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    fake_twilio.unsubscribed_next()
    with caplog.at_level(logging.DEBUG):
        channel.send(sms())
        channel.send(sms())

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "+14155550100" not in logged
    assert "order #1001" not in logged
    assert AUTH_TOKEN not in logged


def test_a_sender_is_required() -> None:
    with pytest.raises(ValueError, match="sender"):
        TwilioSmsChannel(ACCOUNT_SID, AUTH_TOKEN)


def test_build_channels_uses_twilio_when_configured(fake_twilio: FakeTwilio) -> None:
    settings = Settings(
        _env_file=None,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from=FROM,
        twilio_base_url=fake_twilio.base_url,
    )

    channel = build_channels(settings, SystemClock())["sms"]
    try:
        assert isinstance(channel, TwilioSmsChannel)
        assert channel.send(sms()).ok
    finally:
        channel.close()
    assert fake_twilio.requests[0].form["To"] == "+14155550100"


def test_half_a_twilio_configuration_is_an_error() -> None:
    settings = Settings(_env_file=None, twilio_account_sid=ACCOUNT_SID, twilio_from=FROM)

    with pytest.raises(ValueError, match="FOREWARN_TWILIO_AUTH_TOKEN"):
        build_channels(settings, SystemClock())
