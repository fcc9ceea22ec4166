"""Outbound channels: pick the file, SMTP or Twilio implementation from the settings."""

from __future__ import annotations

from engine.clock import Clock
from engine.compose.segments import sms_segments
from engine.config import Settings
from engine.delivery.channel import Callbacks, ChannelAdapter, callback_url
from engine.vocabulary import Channel
from integrations.channels.email_message import build_email
from integrations.channels.file import FileEmailChannel, FileSmsChannel
from integrations.channels.smtp import SmtpChannel, parse_smtp_url
from integrations.channels.twilio import PROVIDER as TWILIO
from integrations.channels.twilio import HttpxTwilioHttpClient, TwilioCallbacks, TwilioSmsChannel


def build_channels(settings: Settings, clock: Clock) -> dict[Channel, ChannelAdapter]:
    """One adapter per channel: real providers when configured, files under `var/` otherwise."""
    email: ChannelAdapter
    if settings.smtp_url:
        email = SmtpChannel(settings.smtp_url, settings.email_from, settings.email_reply_to or None, clock)
    else:
        email = FileEmailChannel(
            settings.outbox_dir,
            sender=settings.email_from,
            reply_to=settings.email_reply_to or None,
            clock=clock,
        )
    sms: ChannelAdapter
    if _twilio_configured(settings):
        sms = TwilioSmsChannel(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            from_number=settings.twilio_from or None,
            messaging_service_sid=settings.twilio_messaging_service_sid or None,
            base_url=settings.twilio_base_url,
            status_callback=callback_url(settings, TWILIO, "status"),
        )
    else:
        sms = FileSmsChannel(settings.sms_dir, count_segments=lambda text: sms_segments(text).segments)
    return {Channel.EMAIL: email, Channel.SMS: sms}


def build_callbacks(settings: Settings) -> dict[str, Callbacks]:
    """The providers that call us back, by the name in their callback URLs; without its auth token a
    provider's callbacks cannot be verified, so none is accepted."""
    return {TWILIO: TwilioCallbacks(settings.twilio_auth_token)} if settings.twilio_auth_token else {}


def _twilio_configured(settings: Settings) -> bool:
    parts = {
        "FOREWARN_TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "FOREWARN_TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "FOREWARN_TWILIO_FROM or FOREWARN_TWILIO_MESSAGING_SERVICE_SID": settings.twilio_from
        or settings.twilio_messaging_service_sid,
    }
    missing = [name for name, value in parts.items() if not value]
    if len(missing) == len(parts):
        return False
    # Half a Twilio configuration would silently turn real SMS into files; say what is missing instead.
    if missing:
        raise ValueError(f"Twilio is partly configured; also set {', '.join(missing)}")
    return True


__all__ = [
    "FileEmailChannel",
    "FileSmsChannel",
    "HttpxTwilioHttpClient",
    "SmtpChannel",
    "TwilioCallbacks",
    "TwilioSmsChannel",
    "build_callbacks",
    "build_channels",
    "build_email",
    "parse_smtp_url",
]
