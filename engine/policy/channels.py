"""Consent: proactive notices go only on channels the customer said yes to and we can reach."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine.models.customers import Recipient
from engine.vocabulary import Channel

CHANNELS = tuple(Channel)  # in the order routes are tried
NO_ADDRESS = {Channel.EMAIL: "no email address on file", Channel.SMS: "no phone number on file"}


@dataclass(frozen=True)
class Route:
    channel: Channel
    recipient: str


@dataclass(frozen=True)
class Routing:
    routes: list[Route]
    skipped: dict[Channel, str]  # channel → why it is not used


def routes_for(customer: Recipient, suppressed: Mapping[Channel, str] | None = None) -> Routing:
    """`suppressed`: channel → why the customer's address on it is on the suppression list (the caller
    looks it up, so this stays a pure decision)."""
    suppressed = suppressed or {}
    routes: list[Route] = []
    skipped: dict[Channel, str] = {}
    for channel in CHANNELS:
        if channel not in customer.channels:
            continue
        address = customer.email if channel == Channel.EMAIL else customer.phone
        if channel == Channel.EMAIL and customer.email_opted_out:
            skipped[channel] = "customer unsubscribed from email"
        elif not address:
            skipped[channel] = NO_ADDRESS[channel]
        elif channel in suppressed:
            skipped[channel] = suppressed[channel]
        else:
            routes.append(Route(channel, address))
    return Routing(routes, skipped)
