"""Canonical events: the one shape every feed is mapped onto (DESIGN §3)."""

from engine.events.schema import CanonicalEvent, parse_event, parse_events

__all__ = ["CanonicalEvent", "parse_event", "parse_events"]
