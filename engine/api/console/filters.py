"""Reading a review page's filter form (a plain GET: bookmarkable, no CSRF needed) into the read services'
searches, and the reader a page shows contact details to (and reads them for).

An empty field is no filter. A value that cannot be a filter (an unknown status, a malformed date) is named
back to the person on the page and left out, rather than a bare 400: the page is for people.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlencode

from fastapi import Request
from sqlmodel import Session

from engine.api.params import MAX_KEY, MAX_ROW_ID
from engine.api.roles import read_one
from engine.read.contacts import Viewer as Reader
from engine.runtime import Runtime
from engine.staff.accounts import Principal

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


@dataclass
class FilterForm:
    """The submitted fields (as typed, for the form to show back) and the problems found in them."""

    values: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def text(self, query: Mapping[str, str], name: str, *, most: int = MAX_KEY) -> str | None:
        value = (query.get(name) or "").strip()
        self.values[name] = value[:most]
        if len(value) > most:
            self.problems.append(f"{name} is longer than {most} characters; it was cut.")
        return value[:most] or None

    def choice(self, query: Mapping[str, str], name: str, kind: type[E]) -> E | None:
        value = (query.get(name) or "").strip()
        self.values[name] = value
        if not value:
            return None
        try:
            return kind(value)
        except ValueError:
            self.values[name] = ""
            self.problems.append(f"There is no {name} called {value[:40]!r}; that filter was left out.")
            return None

    def day(self, query: Mapping[str, str], name: str, *, end: bool = False) -> datetime | None:
        """A date (YYYY-MM-DD, UTC, the console's zone) as an instant: its midnight, or with `end`, the next
        midnight (so "until 2026-12-04" includes that day)."""
        value = (query.get(name) or "").strip()
        self.values[name] = value
        if not value:
            return None
        try:
            day = date.fromisoformat(value)
        except ValueError:
            self.values[name] = ""
            self.problems.append(f"{name} must be a date such as 2026-12-04; that filter was left out.")
            return None
        start = datetime.combine(day, time(), tzinfo=UTC)
        return start + timedelta(days=1) if end else start

    def cursor(self, query: Mapping[str, str]) -> int | None:
        value = (query.get("cursor") or "").strip()
        if value.isdigit() and 1 <= int(value) <= MAX_ROW_ID:
            return int(value)
        return None

    def link(self, path: str, **extra: str | int | None) -> str:
        """This page with the same filters (and `extra`, such as the next cursor)."""
        pairs = {k: v for k, v in self.values.items() if v}
        pairs.update({k: str(v) for k, v in extra.items() if v is not None})
        return f"{path}?{urlencode(pairs)}" if pairs else path


def reader(who: Principal, *, reveal: bool = False) -> Reader:
    """The staff member as the read services know them: the audit actor, their address, and whether they
    asked to see contact details (which those services audit)."""
    return Reader(actor=who.actor, address=who.address, reveal=reveal)


def read_for_page(
    request: Request, rt: Runtime, who: Principal, read: Callable[[Session, Reader], T | None], what: str
) -> tuple[T, bool]:
    """What a record's page shows (a 404 naming `what` when there is none), and whether contact details are
    shown: a GET masks them; a POST to the page's …/reveal (a form, CSRF-checked like every console POST)
    shows them, and the read service audits it."""
    viewer = reader(who, reveal=request.method == "POST")
    return read_one(rt, viewer, lambda session: read(session, viewer), what), viewer.reveal
