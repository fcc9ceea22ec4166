"""Alembic: upgrade from empty, downgrade to base, and no drift between models and migrations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel
from support.databases import drop_postgres, fresh_postgres
from support.services import require

from engine.db import make_engine
from engine.migrations import downgrade, upgrade


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin, name = require("FOREWARN_TEST_POSTGRES_URL"), f"forewarn_migrations_{os.getpid()}"
    url = fresh_postgres(admin, name=name)
    downgrade(url, "base")
    yield url
    drop_postgres(admin, name)


def test_upgrade_from_empty_has_no_drift_and_downgrades_to_nothing(empty_url: str) -> None:
    upgrade(empty_url)
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        assert set(SQLModel.metadata.tables) <= tables
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    downgrade(empty_url, "base")
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    engine.dispose()
