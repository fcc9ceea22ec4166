"""Our outage, answered as ours: 503 with Retry-After and a problem body when the database is away, nothing
half-written, and the sender's retry accepted once it is back. One error shape (RFC 9457) everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, func, select
from support import builders
from support.databases import truncate_all
from support.fault_table import FaultTable

from engine.api.app import create_app
from engine.clock import SimulatedClock
from engine.compose.store import TemplateStore, seed_templates
from engine.config import Settings
from engine.db import make_engine
from engine.models import AuditEntry, InboundEvent
from engine.runtime import Runtime
from integrations.feeds import build_feeds

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.timeout(120)]


def _admin(url: str) -> str:
    parsed = make_url(url)
    return f"host={parsed.host} port={parsed.port or 5432} user={parsed.username or 'postgres'} dbname=postgres"


def database_away(url: str, away: bool) -> None:
    """The database stops (or starts again) taking connections, and drops the ones it has."""
    name = make_url(url).database
    with psycopg.connect(_admin(url), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {"false" if away else "true"}')
        if away:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )


@pytest.fixture
def pg(postgres_url: str, tmp_path: Path, clock: SimulatedClock) -> Iterator[tuple[Runtime, TestClient]]:
    truncate_all(postgres_url)
    settings = Settings(
        database_url=postgres_url,
        outbox_dir=str(tmp_path / "outbox"),
        webhook_secret_events=builders.SECRET,
        api_token="test-token",
        _env_file=None,  # type: ignore[call-arg]
    )
    rt = Runtime(settings=settings, db=make_engine(postgres_url), clock=clock, templates=TemplateStore())
    with rt.unit_of_work() as session:
        seed_templates(session, now=clock.now())
    try:
        with TestClient(create_app(rt, feeds=build_feeds(settings)), raise_server_exceptions=False) as client:
            yield rt, client
    finally:
        database_away(postgres_url, False)
        rt.close()


def stored(rt: Runtime) -> tuple[int, int]:
    with Session(rt.db) as session:
        events = session.exec(select(func.count(col(InboundEvent.id)))).one()
        entries = session.exec(select(func.count(col(AuditEntry.seq)))).one()
    return events, entries


def test_a_webhook_during_a_database_outage_is_503_with_retry_after_and_its_retry_is_kept(
    pg: tuple[Runtime, TestClient], postgres_url: str, clock: SimulatedClock, fault_table: FaultTable
) -> None:
    rt, client = pg
    before = stored(rt)
    body, headers = builders.signed(
        [builders.customer_upserted(clock.now()), builders.order_created(clock.now())], now=clock.now()
    )
    database_away(postgres_url, True)

    response = client.post("/webhooks/events", content=body, headers=headers)

    assert response.status_code == 503
    assert response.headers["retry-after"].isdigit()
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["status"], problem["title"]) == (503, "Service Unavailable") and "nothing was changed" in problem[
        "detail"
    ]
    api = client.get("/api/notices", headers={"Authorization": "Bearer test-token"})
    assert api.status_code == 503 and api.headers["retry-after"].isdigit()

    database_away(postgres_url, False)
    assert stored(rt) == before  # nothing half-written
    retry = client.post("/webhooks/events", content=body, headers=headers)  # the sender tries again
    assert retry.status_code == 202 and retry.json() == {"accepted": 2, "duplicates": 0}
    assert stored(rt)[0] == before[0] + 2
    fault_table.record(
        "database down during a webhook: 503 + Retry-After, nothing half-written",
        recovery=f"the sender's retry stored {stored(rt)[0] - before[0]} of 2 events",
    )


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("get", "/api/notices?since=yesterday", {"headers": {"Authorization": "Bearer test-token"}}, 400),
        ("get", "/api/notices", {}, 401),
        ("post", "/api/approvals/99/approve", {"headers": {"Authorization": "Bearer test-token"}}, 404),
        ("post", "/api/approvals/4294967296/approve", {"headers": {"Authorization": "Bearer test-token"}}, 400),
        ("delete", "/api/suppressions/99999999999999999999", {"headers": {"Authorization": "Bearer test-token"}}, 400),
        ("post", "/webhooks/nowhere", {"content": b"{}"}, 404),
        ("post", "/webhooks/events", {"content": b"{}"}, 401),
        ("post", "/webhooks/twilio/status", {"content": b""}, 403),
        ("put", "/api/pause", {"headers": {"Authorization": "Bearer test-token"}}, 405),
    ],
)
def test_every_error_is_one_problem_shape(
    pg: tuple[Runtime, TestClient], method: str, path: str, kwargs: dict[str, object], status: int
) -> None:
    _, client = pg
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["type"] == "about:blank" and body["title"] and body["detail"]
    if status == 405:
        assert response.headers["allow"] == "GET, POST"
