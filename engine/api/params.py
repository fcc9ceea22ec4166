"""Query parameters several /api routes read the same way."""

from __future__ import annotations

from datetime import datetime

from fastapi import HTTPException

from engine.clock import parse_instant


def instant(name: str, text: str | None) -> datetime | None:
    """An RFC 3339 time with offset, or None when not given; 400 naming the parameter otherwise."""
    if not text:
        return None
    try:
        return parse_instant(text)
    except ValueError:
        raise HTTPException(400, f"{name} must be an RFC 3339 time with offset, got {text!r}") from None
