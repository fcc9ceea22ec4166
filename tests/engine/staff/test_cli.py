"""`forewarn users create|list|disable`: the password from stdin when it is not a terminal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from engine.cli import app
from engine.config import get_settings
from engine.models import StaffUser


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
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


def test_demo_creates_an_admin_once_and_prints_the_login(
    cli_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FOREWARN_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("FOREWARN_SMS_DIR", str(tmp_path / "sms"))
    runner = CliRunner()
    first = runner.invoke(app, ["demo"])
    assert first.exit_code == 0, first.output
    found = re.search(r"sign in as (\S+) with password (\S+)", first.output)
    assert found, first.output
    email, password = found.groups()
    assert password not in caplog.text

    from engine.db import make_engine
    from engine.staff.passwords import verify_password

    engine = make_engine(cli_db)
    with Session(engine) as session:
        user = session.exec(select(StaffUser).where(StaffUser.email == email)).one()
    engine.dispose()
    assert user.role == "admin" and verify_password(user.password_hash, password)
    again = runner.invoke(app, ["demo"])
    assert "an admin exists already" in again.output and "with password" not in again.output
