"""The outbound channel interface: the engine hands a rendered message to an adapter by channel name.

Adapters live in `integrations/channels/`, one file each, and own their provider: its API, its error
codes and what they mean, its callback format. What comes back to the engine is structured
(`SendResult`, `StatusReport`, `InboundText`), so the engine knows no provider's numbers, routes or
URL shapes. `integrations.channels.build_channels(settings)` picks an implementation per channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypedDict, Unpack

from engine.config import Settings
from engine.vocabulary import Channel


@dataclass(frozen=True)
class OutboundMessage:
    notice_id: int
    channel: Channel
    recipient: str  # an email address or an E.164 phone number
    body: str  # plain text (email) or the SMS text
    subject: str | None = None
    html: str | None = None
    message_id: str | None = None  # RFC 5322 Message-ID for email, without angle brackets
    in_reply_to: str | None = None  # the thread's first Message-ID, for follow-ups
    unsubscribe_url: str | None = None  # one-click unsubscribe (email: RFC 8058 List-Unsubscribe)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    """What a provider said. `send()` returns this for expected rejections instead of raising."""

    ok: bool
    provider_id: str | None = None
    permanent: bool = False  # a rejection that retrying will not fix
    error: str | None = None  # the provider's reply, as staff read it on the notice; never the message body
    code: str | None = None  # the provider's own code for it ("21610", "550 5.1.1"), for the record
    retry_after: float | None = None  # seconds, when the provider asked us to slow down
    # The address can never receive (no such mailbox, not a mobile number): stop sending to it.
    address_rejected: bool = False
    # The recipient opted out at the provider (a STOP the provider saw first): honour it as theirs.
    opted_out: bool = False
    # Why the address is no longer used, in the words the suppression list shows staff.
    address_note: str | None = None

    @classmethod
    def sent(cls, provider_id: str | None = None) -> SendResult:
        return cls(ok=True, provider_id=provider_id)

    @classmethod
    def transient(cls, error: str, *, code: str | None = None, retry_after: float | None = None) -> SendResult:
        return cls(ok=False, error=error, code=code, retry_after=retry_after)

    @classmethod
    def rejected(cls, error: str, **why: Unpack[Rejection]) -> SendResult:
        """A rejection that retrying will not fix; `why` says what it means for the address."""
        return cls(ok=False, permanent=True, error=error, **why)


class Rejection(TypedDict, total=False):
    """What a permanent rejection may add to its error (the `SendResult` fields of the same names)."""

    code: str | None
    address_rejected: bool
    opted_out: bool
    address_note: str | None


class ChannelAdapter(Protocol):
    name: Channel
    provider: str  # who sends (`smtp`, `twilio`, `file`): the source of what it says about addresses

    def send(self, message: OutboundMessage) -> SendResult:
        """Hand one message to the provider; raise only on a bug, return a result otherwise."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


# What a provider reports about a message after accepting it, in the order a message goes through.
PROGRESS = {"accepted": 1, "scheduled": 1, "queued": 1, "sending": 2, "sent": 3, "delivered": 4, "read": 5}
FINAL = ("delivered", "read")


@dataclass(frozen=True)
class StatusReport:
    """A provider's callback about one message it accepted: how far it got, or why it failed."""

    provider_id: str
    status: str  # the provider's word for it: one of PROGRESS, or a failure ("failed", "undelivered")
    failure: SendResult | None = None  # set when it failed for good


@dataclass(frozen=True)
class InboundText:
    """A text a customer sent us. `keyword` is the provider's own reading of an opt-out word (STOP, START,
    HELP), when it has one; otherwise the engine reads the body."""

    sender: str
    body: str
    keyword: str | None = None


class CallbackError(Exception):
    """A callback's signature is missing or wrong, or its body unreadable: answer 403, change nothing."""


class Callbacks(Protocol):
    """A provider's callbacks, at POST /webhooks/<provider>/status and /webhooks/<provider>/inbound."""

    provider: str

    def verify(self, url: str, body: bytes, headers: Mapping[str, str]) -> Mapping[str, str]:
        """The callback's fields once its signature holds for `url`; raise CallbackError otherwise."""
        ...

    def status(self, fields: Mapping[str, str]) -> StatusReport | None:
        """The delivery report in a status callback, if it has one."""
        ...

    def inbound(self, fields: Mapping[str, str]) -> InboundText | None:
        """The customer's text in an inbound callback, if it has one."""
        ...

    def reply(self, text: str | None) -> tuple[str, str]:
        """The body (and media type) that answers an inbound callback, with `text` sent back, if any."""
        ...


def callback_url(settings: Settings, provider: str, kind: str) -> str:
    """Where a provider calls us back about our messages (`kind`: status or inbound)."""
    return f"{settings.public_url.rstrip('/')}/webhooks/{provider}/{kind}"
