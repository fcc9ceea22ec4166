"""The outbound channel interface: the engine hands a rendered message to an adapter by channel name.

Adapters live in `integrations/channels/`; `integrations.channels.build_channels(settings)` picks the
file, SMTP or Twilio implementation from the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

ChannelName = Literal["email", "sms"]
CHANNELS: tuple[ChannelName, ...] = ("email", "sms")


@dataclass(frozen=True)
class OutboundMessage:
    notice_id: int
    channel: ChannelName
    recipient: str  # an email address or an E.164 phone number
    body: str  # plain text (email) or the SMS text
    subject: str | None = None
    html: str | None = None
    message_id: str | None = None  # RFC 5322 Message-ID for email, without angle brackets
    in_reply_to: str | None = None  # the thread's first Message-ID, for follow-ups
    headers: dict[str, str] = field(default_factory=dict)
    status_callback: str | None = None  # SMS: where the provider reports delivery


@dataclass(frozen=True)
class SendResult:
    """What a provider said. `send()` returns this for expected rejections instead of raising."""

    ok: bool
    provider_id: str | None = None
    permanent: bool = False  # a rejection that retrying will not fix
    error: str | None = None  # the provider's reply text or code, never the message body
    retry_after: float | None = None  # seconds, when the provider asked us to slow down
    # The provider says this address cannot receive at all (no such mailbox): stop sending to it.
    address_rejected: bool = False

    @classmethod
    def sent(cls, provider_id: str | None = None) -> SendResult:
        return cls(ok=True, provider_id=provider_id)

    @classmethod
    def transient(cls, error: str, retry_after: float | None = None) -> SendResult:
        return cls(ok=False, error=error, retry_after=retry_after)

    @classmethod
    def rejected(cls, error: str, *, address_rejected: bool = False) -> SendResult:
        return cls(ok=False, permanent=True, error=error, address_rejected=address_rejected)


class Channel(Protocol):
    name: ChannelName

    def send(self, message: OutboundMessage) -> SendResult:
        """Hand one message to the provider; raise only on a bug, return a result otherwise."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
