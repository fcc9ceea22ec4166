"""Alembic environment: migrations for SQLite (batch mode) and PostgreSQL from one history."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import engine.models  # noqa: F401  (registers every table on the metadata)
from alembic import context
from engine.config import get_settings
from engine.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Our own column types are rendered by import path so migrations stay importable.
    if type_ == "type" and type(obj).__module__ == "engine.db":
        autogen_context.imports.add("import engine.db")
        return f"engine.db.{type(obj).__name__}()"
    if type_ == "type" and type(obj).__module__.startswith("sqlmodel"):
        autogen_context.imports.add("import sqlmodel")
        length = getattr(obj, "length", None)
        arguments = f"length={length}" if length else ""
        return f"sqlmodel.sql.sqltypes.{type(obj).__name__}({arguments})"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.attributes.get("database_url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
