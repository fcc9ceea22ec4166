"""Parameters several /api routes read the same way, each bounded in the OpenAPI document as in the code.

Row ids and cursors are PostgreSQL `integer` columns: a larger number cannot name a row and must not
reach the database (it would fail there, not here). Times are RFC 3339 with an offset; an empty or
malformed one is a 400 naming the parameter, never "no filter".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import HTTPException, Path, Query
from pydantic import BaseModel, Field

from engine.clock import parse_instant

MAX_ROW_ID = 2**31 - 1
# Text keys (customer, order and incident ids) are varchar(128) in the database.
MAX_KEY = 128
S = TypeVar("S")

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="a row's id")]
Key = Annotated[str, Path(min_length=1, max_length=MAX_KEY)]
Cursor = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="next_cursor from the previous page")]
Limit = Annotated[int, Query(ge=1, le=1000)]


def instant_query(description: str) -> Any:
    """A `Query` for an RFC 3339 time: declared `date-time` so a client knows the shape before it asks."""
    return Query(description=description, max_length=64, json_schema_extra={"format": "date-time"})


Since = Annotated[str | None, instant_query("at or after (RFC 3339 with offset)")]
Until = Annotated[str | None, instant_query("before (RFC 3339 with offset)")]


def instant(name: str, text: str | None) -> datetime | None:
    """An RFC 3339 time with offset, or None when not given; 400 naming the parameter otherwise."""
    if text is None:
        return None
    try:
        return parse_instant(text)
    except ValueError:
        raise HTTPException(400, f"{name} must be an RFC 3339 time with offset, got {text[:64]!r}") from None


def _instant_field(description: str) -> Any:
    return Field(None, description=description, max_length=64, json_schema_extra={"format": "date-time"})


class PageQuery(BaseModel):
    """The time window and keyset paging every /api search reads (`Annotated[Model, Query()]`): a search's
    own filters are the fields of a subclass, named as its read service's search names them."""

    since: str | None = _instant_field("at or after (RFC 3339 with offset)")
    until: str | None = _instant_field("before (RFC 3339 with offset); a window with an end is in time order")
    cursor: int | None = Field(None, ge=1, le=MAX_ROW_ID, description="next_cursor from the previous page")
    limit: int = Field(100, ge=1, le=1000)

    def search(self, kind: Callable[..., S]) -> S:
        """The read service's search (`kind`) with these filters, the times parsed (a 400 naming a bad one)."""
        given = self.model_dump(exclude={"since", "until"})
        return kind(**given, since=instant("since", self.since), until=instant("until", self.until))
