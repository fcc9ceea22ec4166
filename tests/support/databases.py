"""Migrated test databases: a SQLite file copied per test, a PostgreSQL database truncated per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import SQLModel

from engine.audit import guard
from engine.db import make_engine
from engine.db.migrations import upgrade
from engine.models import *  # noqa: F403  (every table)

TEST_DB = "forewarn_test"


def migrated_sqlite_template(directory: Path) -> Path:
    path = directory / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def sqlite_copy(template: Path, directory: Path) -> str:
    target = directory / "forewarn.db"
    shutil.copy(template, target)
    return f"sqlite:///{target}"


def fresh_postgres(admin_url: str, name: str = TEST_DB) -> str:
    """Drop and recreate a dedicated database next to the admin one; return its URL, migrated."""
    url = make_url(admin_url)
    conninfo = f"host={url.host} port={url.port or 5432} user={url.username or 'postgres'} dbname={url.database}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    migrated = url.set(database=name).render_as_string(hide_password=False)
    upgrade(migrated)
    return migrated


def drop_postgres(admin_url: str, name: str) -> None:
    url = make_url(admin_url)
    conninfo = f"host={url.host} port={url.port or 5432} user={url.username or 'postgres'} dbname={url.database}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate_all(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        # The audit table refuses TRUNCATE (engine/audit/guard.py); between tests we are its owner, not the app.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@contextmanager
def tampering(db: Engine) -> Iterator[Connection]:
    """A connection that can change the audit log, as its owner could: PostgreSQL's triggers are off for
    this transaction (session_replication_role), SQLite's are dropped and put back. For tests that play
    the attacker the chain and the checkpoints must catch."""
    with db.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            guard.remove(conn)
        yield conn
        if conn.dialect.name != "postgresql":
            guard.install(conn)
