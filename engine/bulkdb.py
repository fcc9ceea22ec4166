"""Writing many rows at once, on PostgreSQL and SQLite alike (fan-outs and batch delivery).

An ORM object costs a constructor with validation and a flush each; a fan-out to 100,000 customers
writes half a million rows, so the bulk paths hand plain dicts to one INSERT per table instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlmodel import Session, SQLModel


def table_of(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def insert_rows(session: Session, model: type[SQLModel], rows: Sequence[dict[str, Any]]) -> None:
    """One executemany INSERT of `rows` (the driver batches it into multi-row statements)."""
    if rows:
        session.execute(insert(table_of(model)), list(rows))


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
    top = session.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + count))
