"""Shared fixtures: real databases (SQLite and PostgreSQL), a runtime on a simulated clock, real servers."""

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support import builders
from support.databases import drop_postgres, fresh_postgres, migrated_sqlite_template, sqlite_copy, truncate_all
from support.fake_twilio import FakeTwilio, running_fake_twilio
from support.runtime import seeded_runtime
from support.services import require
from support.smtp_server import SmtpTestServer, TlsFiles, make_tls_files, running_smtp_server

from engine.api.app import create_app
from engine.clock import SimulatedClock
from engine.config import Settings
from engine.runtime import Runtime
from integrations.feeds import build_feeds


def pytest_configure(config: pytest.Config) -> None:
    # Processes and runtimes a test starts without naming a checkpoint file would append the audit chain's
    # head to ./var of the work tree, and a later run's `audit verify` would read another run's heads.
    if "FOREWARN_AUDIT_CHECKPOINT_FILE" not in os.environ:
        checkpoints = Path(tempfile.mkdtemp(prefix="forewarn-checkpoints-")) / "audit-checkpoints.jsonl"
        os.environ["FOREWARN_AUDIT_CHECKPOINT_FILE"] = str(checkpoints)
    # Every log line of the run is scanned for the builders' personal data; a leak fails the run.
    from support.fault_table import FaultTable
    from support.log_scan import LogScanPlugin

    config.pluginmanager.register(LogScanPlugin(), "forewarn-log-scan")
    # The fault experiments' counts, printed as one table at the end of the run and kept in var/faults.md.
    config.pluginmanager.register(FaultTable(), "forewarn-fault-table")


# A real SMTP server, a self-signed certificate and a fake Twilio API for the channel tests, each torn
# down cleanly. `support` imports because pyproject's pytest `pythonpath` puts tests/ on sys.path.


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with running_fake_twilio() as fake:
        yield fake


# Every database test runs on SQLite and on PostgreSQL (FOREWARN_TEST_POSTGRES_URL), migrated by Alembic.


# A Tuesday afternoon in New York: outside quiet hours for the default test customer.
T0 = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    # A database of this run's own, so concurrent runs on one server never trip over each other.
    admin = require("FOREWARN_TEST_POSTGRES_URL")
    name = f"forewarn_test_{os.getpid()}"
    yield fresh_postgres(admin, name=name)
    drop_postgres(admin, name)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        return sqlite_copy(sqlite_template, tmp_path)
    url: str = request.getfixturevalue("postgres_url")
    truncate_all(url)
    return url


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        outbox_dir=str(tmp_path / "outbox"),
        sms_dir=str(tmp_path / "sms"),
        audit_checkpoint_file=str(tmp_path / "audit-checkpoints.jsonl"),
        webhook_secret_events=builders.SECRET,
        webhook_secret_shopify="shopify-test-secret",
        webhook_secret_easypost="sécret",
        webhook_secret_aftership="aftership-test-secret",
        webhook_secret_pagerduty="pagerduty-test-secret",
        webhook_token_statuspage="statuspage-test-token",
        webhook_token_alertmanager="alertmanager-test-token",
        api_token="test-token",
        public_url="https://notify.example.com",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def rt(settings: Settings, clock: SimulatedClock) -> Iterator[Runtime]:
    runtime = seeded_runtime(settings, clock)
    yield runtime
    runtime.close()


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    app = create_app(rt, feeds=build_feeds(rt.settings))
    with TestClient(app) as test_client:
        yield test_client
