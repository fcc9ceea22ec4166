"""`forewarn users create|list|disable`: the password from stdin when it is not a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.config import get_settings


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FOREWARN_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_create_list_disable(cli_db: str) -> None:
    runner = CliRunner()
    made = runner.invoke(
        app,
        ["users", "create", "--email", "ana@example.com", "--role", "approver", "--name", "Ana"],
        input="plum-harbour-violin-42\n",
    )
    assert made.exit_code == 0, made.output
    assert "created ana@example.com (approver)" in made.output
    assert "plum-harbour" not in made.output

    weak = runner.invoke(app, ["users", "create", "--email", "bo@example.com", "--role", "viewer"], input="short\n")
    assert weak.exit_code == 1
    assert "at least 12 characters" in weak.output

    bad_role = runner.invoke(app, ["users", "create", "--email", "cy@example.com", "--role", "owner"], input="x\n")
    assert bad_role.exit_code != 0

    listed = runner.invoke(app, ["users", "list"])
    assert "ana@example.com" in listed.output and "approver" in listed.output and "active" in listed.output
    assert "bo@example.com" not in listed.output

    disabled = runner.invoke(app, ["users", "disable", "--email", "ana@example.com"])
    assert disabled.exit_code == 0
    assert "disabled" in runner.invoke(app, ["users", "list"]).output

    missing = runner.invoke(app, ["users", "disable", "--email", "nobody@example.com"])
    assert missing.exit_code == 1 and "no staff account" in missing.output
