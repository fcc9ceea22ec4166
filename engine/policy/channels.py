"""Consent: proactive notices go only on channels the customer said yes to and we can reach."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from engine.vocabulary import Channel

CHANNELS = tuple(Channel)  # in the order routes are tried


@dataclass(frozen=True)
class Route:
    channel: Channel
    recipient: str


@dataclass(frozen=True)
class Routing:
    routes: list[Route]
    skipped: dict[Channel, str]  # channel → why it is not used


class Contactable(Protocol):
    """What consent reads of a customer (a `Customer` row, or a fan-out's `Subscriber`)."""

    @property
    def channels(self) -> list[str]: ...
    @property
    def email(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def email_opted_out(self) -> bool: ...


def routes_for(customer: Contactable, suppressed: Mapping[Channel, str] | None = None) -> Routing:
    """`suppressed`: channel → why the customer's address on it is on the suppression list (the caller
    looks it up, so this stays a pure decision)."""
    suppressed = suppressed or {}
    routes: list[Route] = []
    skipped: dict[Channel, str] = {}
    for channel in CHANNELS:
        if channel not in customer.channels:
            continue
        if channel == Channel.EMAIL:
            if customer.email_opted_out:
                skipped[channel] = "customer unsubscribed from email"
            elif not customer.email:
                skipped[channel] = "no email address on file"
            elif channel in suppressed:
                skipped[channel] = suppressed[channel]
            else:
                routes.append(Route(Channel.EMAIL, customer.email))
        else:
            if not customer.phone:
                skipped[channel] = "no phone number on file"
            elif channel in suppressed:
                skipped[channel] = suppressed[channel]
            else:
                routes.append(Route(Channel.SMS, customer.phone))
    return Routing(routes, skipped)
