"""Database engine, sessions and the column types every table shares."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import JSON, DateTime, String, event, text
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which drops offsets) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Word = TypeVar("Word", bound=StrEnum)


class Vocabulary(TypeDecorator[Word], Generic[Word]):
    """A column holding one of the domain's words (`engine.vocabulary`): a plain VARCHAR in the database,
    a member of the enum in Python. Binding takes the member or its string."""

    impl = String
    cache_ok = True

    def __init__(self, words: type[Word], length: int) -> None:
        super().__init__(length)
        self.words = words
        self._members = {str(member): member for member in words}  # a lookup costs less than an Enum call

    def process_bind_param(self, value: Word | str | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Word | None:
        if value is None:
            return None
        member = self._members.get(value)
        return member if member is not None else self.words(value)  # an unknown word: ValueError naming it


# JSON is the portable choice; PostgreSQL stores it as json.
JSONType = JSON


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and write-first transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        memory = database in ("", ":memory:")
        if not memory:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if memory:
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, echo=echo, hide_parameters=True, **kwargs)
        _configure_sqlite(engine, wal=not memory)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        url = str(parsed.set(drivername="postgresql+psycopg"))
    # hide_parameters: a failed statement's message (which reaches logs and tracebacks) never carries the
    # values it was given: names, addresses, message bodies.
    return create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, hide_parameters=True
    )


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    # pysqlite's own transaction handling defers BEGIN until the first write, which lets two
    # connections read the same audit-chain head and then collide; BEGIN IMMEDIATE serialises
    # writers up front instead (the documented SQLAlchemy recipe).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def insert_if_absent(
    session: Session, model: type[Any], values: dict[str, Any], keys: list[str], *, returning: Any = None
) -> Any:
    """INSERT … ON CONFLICT DO NOTHING: concurrent workers creating the same row both succeed.

    With `returning` (a column), the result has a row only when this call inserted one.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=keys)
    return session.exec(statement.returning(returning) if returning is not None else statement)


def row_locks(session: Session) -> bool:
    """Whether SELECT … FOR UPDATE means anything here (SQLite serialises writers instead)."""
    return session.get_bind().dialect.name == "postgresql"


def transaction_lock(session: Session, key: int) -> None:
    """Serialise this transaction with every other one taking the same `key`, until it ends.

    PostgreSQL: an advisory transaction lock. SQLite needs nothing: BEGIN IMMEDIATE already lets one
    writer at a time in (see `_configure_sqlite`).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
