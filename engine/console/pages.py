"""The console's Jinja2 environment and navigation.

An ordinary `Environment` with autoescape on and StrictUndefined (a typo in a page is an error, not a
blank): console pages are written by developers and trusted. Staff-written message templates never
come here; they render only in `engine.compose.render`'s sandbox.

A page module adds its link with `add_nav(...)` at import time, naming the least role that sees it; the
layout shows each person only the links their role opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2

from engine.clock import format_instant
from engine.vocabulary import StaffRole

PAGES = Path(__file__).with_name("pages")
STATIC = Path(__file__).with_name("static")


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    role: StaffRole
    order: int


_NAV: dict[str, NavItem] = {}


def add_nav(label: str, path: str, *, role: StaffRole = StaffRole.VIEWER, order: int = 50) -> None:
    """Show a link in the console's navigation to everyone with at least `role` (re-adding replaces)."""
    _NAV[path] = NavItem(label, path, role, order)


def nav_for(role: StaffRole) -> list[NavItem]:
    return sorted((item for item in _NAV.values() if role.at_least(item.role)), key=lambda item: item.order)


def _when(value: datetime | None) -> str:
    """A stored instant as staff read it: UTC, to the minute (the console's one time zone)."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PAGES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["instant"] = format_instant
    return env


ENVIRONMENT = _environment()


def render_page(name: str, context: dict[str, object]) -> str:
    return ENVIRONMENT.get_template(name).render(context)


add_nav("Dashboard", "/ops/", order=10)
add_nav("Staff", "/ops/staff", role=StaffRole.ADMIN, order=90)
add_nav("Your account", "/ops/account", order=95)
