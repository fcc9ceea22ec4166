"""schemathesis `--checks all` against /openapi.json of a real `forewarn serve`: no 5xx on any input, every
status and content type the spec declares, schema-valid requests accepted and invalid ones refused.

On SQLite and on PostgreSQL (where an id past `integer` or a NUL in text fails in the database, not in
Python), with the demo story loaded so that ids and keys find rows and the lookups run for real."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support.databases import truncate_all
from support.smtp_server import free_port
from support.workers import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(400)]
TOKEN = "schemathesis-token"


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_schemathesis_finds_nothing(tmp_path: Path, database: str, request: pytest.FixtureRequest) -> None:
    port = free_port()
    if database == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        truncate_all(url)
    else:
        url = f"sqlite:///{tmp_path / 'forewarn.db'}"
    env = {
        **os.environ,
        "FOREWARN_DATABASE_URL": url,
        "FOREWARN_BROKER_URL": "",
        "FOREWARN_API_TOKEN": TOKEN,
        "FOREWARN_WEBHOOK_SECRET_EVENTS": "whsec_ZGV2LW9ubHktZXZlbnRzLXNlY3JldC0xMjM0NQ==",
        "FOREWARN_OUTBOX_DIR": str(tmp_path / "outbox"),
        "FOREWARN_SMS_DIR": str(tmp_path / "sms"),
        "FOREWARN_LOG_LEVEL": "WARNING",
    }
    log = (tmp_path / "serve.log").open("w")
    for command in (["db", "upgrade"], ["demo"]):
        subprocess.run([sys.executable, "-m", "engine.cli", *command], env=env, stdout=log, stderr=log, check=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(f"{base}/healthz"), what="forewarn serve to answer", timeout=60)
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("st")),
                "run",
                f"{base}/openapi.json",
                "--checks",
                "all",
                "--header",
                f"Authorization: Bearer {TOKEN}",
                "--max-examples",
                "15",
                "--seed",
                "14",
                "--no-color",
                "--generation-database",
                "none",
            ],
            capture_output=True,
            text=True,
            timeout=360,
            cwd=tmp_path,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    summary = run.stdout[-3000:]
    assert run.returncode == 0, summary
    assert " passed" in summary and "failure" not in summary.split("SUMMARY")[-1], summary
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
