"""Writing many rows at once, on PostgreSQL and SQLite alike (fan-outs and batch delivery).

An ORM object costs a constructor with validation and a flush each; a fan-out to 100,000 customers
writes half a million rows, so the bulk paths hand plain dicts to one INSERT per table instead.
"""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Json
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel

from engine.db import UTCDateTime, Vocabulary

log = logging.getLogger(__name__)


class JsonText(str):
    """A value for a JSON column that is already serialised: stored as it is, not serialised again."""


@contextmanager
def rare_collections(first_generation: int = 50_000) -> Iterator[None]:
    """Let Python's cyclic garbage collector run less often while a bulk job builds rows.

    A fan-out allocates millions of short-lived dicts and tuples; at the default threshold (700) the
    collector ran thousands of times and cost a third of the fan-out's CPU. Reference counting still frees
    nearly everything at once; cycles are collected a little later. The threshold is process-wide, so it
    is restored when the job ends.
    """
    before = gc.get_threshold()
    gc.set_threshold(max(first_generation, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def table_of(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def insert_rows(session: Session, model: type[SQLModel], rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) in the session's transaction, as fast as the database allows.

    PostgreSQL gets one COPY: row by row INSERTs, even pipelined, cost the client more than rendering the
    messages does. Each value goes through its column type's bind processing first (UTC datetimes, JSON),
    so the stored rows are exactly what an INSERT would have stored. SQLite gets one executemany.
    """
    if not rows:
        return
    table = table_of(model)
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        # SQLAlchemy serialises JSON columns itself here; hand it the value the text stands for.
        session.execute(
            insert(table),
            [{k: json.loads(v) if isinstance(v, JsonText) else v for k, v in row.items()} for row in rows],
        )
        return
    names = list(rows[0])
    processors = [
        (i, _utc_shortcut(process) if isinstance(table.c[name].type, UTCDateTime) else process)
        for i, name in enumerate(names)
        # A domain word is a str already (a StrEnum member or its string): COPY takes it as it is.
        if not isinstance(table.c[name].type, Vocabulary)
        and (process := table.c[name].type._cached_bind_processor(bind.dialect)) is not None
    ]
    types = _column_types(session, table.name)
    json_columns = {i for i, name in enumerate(names) if types[name] in ("json", "jsonb")}
    # Binary COPY: the server parses no text (a third less of its CPU for notices) and the client
    # formats less.
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(name) for name in names)
    )
    connection = session.connection().connection.dbapi_connection
    assert isinstance(connection, psycopg.Connection)
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types([types[name] for name in names])
        for row in rows:
            values = [row[name] for name in names]
            for i, process in processors:
                value = values[i]
                if value is None:
                    continue
                if type(value) is JsonText and i in json_columns:
                    values[i] = Json(value, dumps=str)  # already serialised: sent as it is
                else:
                    values[i] = process(value)
            copy.write_row(values)


_COLUMN_TYPES: dict[tuple[str, str], dict[str, str]] = {}


def _column_types(session: Session, table: str) -> dict[str, str]:
    """PostgreSQL's type name of each column (what binary COPY needs), read once per database and table."""
    bind = session.get_bind()
    url = bind.engine.url if isinstance(bind, Connection) else bind.url
    key = (url.render_as_string(hide_password=True), table)
    found = _COLUMN_TYPES.get(key)
    if found is None:
        rows = session.execute(
            text(
                "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
                " WHERE a.attrelid = CAST(:table AS regclass) AND a.attnum > 0 AND NOT a.attisdropped"
            ),
            {"table": table},
        ).all()
        found = _COLUMN_TYPES[key] = {str(name): str(type_name) for name, type_name in rows}
    return found


def _utc_shortcut(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """UTCDateTime's processing leaves an aware UTC datetime as it is: skip the call for those."""

    def shortcut(value: Any) -> Any:
        return value if type(value) is datetime and value.tzinfo is UTC else process(value)

    return shortcut


def allocate_ids(session: Session, model: type[SQLModel], count: int) -> list[int]:
    """`count` fresh primary keys for `model`'s integer `id`, before inserting the rows.

    Knowing a notice's id before it is written lets its Message-ID and its audit entry be made in the
    same pass. PostgreSQL hands them out from the column's sequence (safe across concurrent writers);
    SQLite continues after the largest id, which is safe because SQLite lets one writer in at a time and
    the caller inserts the rows in the same transaction.
    """
    if count <= 0:
        return []
    table = table_of(model)
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table.name, "n": count},
        ).all()
        return [int(row[0]) for row in rows]
    # A Core read does not autoflush: rows the ORM holds for this table must be in before the largest id
    # is read, or their ids would be handed out twice.
    session.flush()
    top = session.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + count))


def refresh_statistics(engine: Engine, tables: Sequence[str]) -> None:
    """ANALYZE `tables` (e.g. "notices (thread_key, status)") on PostgreSQL, after a bulk write changed them.

    A fan-out adds as many notices about one incident as the table may have held before; until
    autovacuum's next ANALYZE the planner believes `thread_key = 'incident:…'` matches a handful of rows
    and plans accordingly. Refreshing the statistics as the fan-out grows (and when it ends) keeps every
    later query — the fan-out's own next batches, the workers' claims, the resolution — on the right index.
    Needs ownership of the tables; without it the statistics stay as they are and this says so.
    """
    if engine.dialect.name != "postgresql":
        return
    try:
        with engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            for table in tables:
                autocommit.exec_driver_sql(f"ANALYZE {table}")  # our own constants, never input
    except SQLAlchemyError as exc:
        log.warning("could not refresh planner statistics of %s: %s", ", ".join(tables), type(exc).__name__)
