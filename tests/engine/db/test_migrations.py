"""Alembic: upgrade from empty, downgrade to base, and no drift between models and migrations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel
from support.databases import drop_postgres, fresh_postgres
from support.services import require

from engine.db import make_engine
from engine.db.migrations import downgrade, upgrade


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


def test_opted_out_customers_become_suppressed_numbers_and_back(empty_url: str) -> None:
    upgrade(empty_url, "7dda65a820ce")
    engine = make_engine(empty_url)
    columns = "id, name, phone, locale, timezone, channels, components, extra, email_opted_out, sms_opted_out"
    with engine.begin() as conn:
        for cid, phone, opted_out in (
            ("C1", "+55 11 98765-4321", True),  # spelled with spaces by some feed
            ("C2", "+5511987654321", True),  # the same number
            ("C3", "+14155550199", True),
            ("C4", "+14155550100", False),
            ("C5", None, True),
        ):
            conn.execute(
                text(
                    f"INSERT INTO customers ({columns}, created_at, updated_at) VALUES (:id, '', :phone, 'en', 'UTC',"
                    " '[]', '[]', '{}', false, :opted_out, '2026-03-01 00:00:00', '2026-03-01 00:00:00')"
                ),
                {"id": cid, "phone": phone, "opted_out": opted_out},
            )

    upgrade(empty_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT channel, address, source FROM channel_suppressions ORDER BY address")).all()
    assert [tuple(row) for row in rows] == [
        ("sms", "+14155550199", "migration"),
        ("sms", "+5511987654321", "migration"),
    ]

    downgrade(empty_url, "7dda65a820ce")
    with engine.connect() as conn:
        flags = conn.execute(text("SELECT id FROM customers WHERE sms_opted_out ORDER BY id")).all()
    assert [row[0] for row in flags] == ["C1", "C2", "C3"]  # back to per-customer flags, any spelling
    engine.dispose()


def test_per_part_templates_become_versions_and_back(empty_url: str) -> None:
    upgrade(empty_url, "b8d4f6e2c005")
    engine = make_engine(empty_url)
    parts = {"subject": "Late: {{ order.id }}", "text": "Sorry.", "html": "<p>Sorry.</p>", "sms": "Acme: late."}
    with engine.begin() as conn:
        for number, (part, source) in enumerate(parts.items(), start=1):
            conn.execute(
                text(
                    "INSERT INTO templates (id, situation, stage, part, locale, active_version, updated_at)"
                    " VALUES (:id, 'shipment.delayed', 'initial', :part, 'en', 2, '2026-03-01 00:00:00')"
                ),
                {"id": number, "part": part},
            )
            for version, author in ((1, "seed"), (2, "staff:ana@example.com")):
                conn.execute(
                    text(
                        "INSERT INTO template_versions (template_id, version, source, author, created_at)"
                        " VALUES (:id, :version, :source, :author, '2026-03-02 00:00:00')"
                    ),
                    {"id": number, "version": version, "source": f"{source} v{version}", "author": author},
                )
    upgrade(empty_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT channel, status, author, parts FROM message_versions ORDER BY channel")).all()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("email", "published", "staff:ana@example.com"),
        ("sms", "published", "staff:ana@example.com"),
    ]
    email_parts = rows[0][3] if isinstance(rows[0][3], dict) else __import__("json").loads(rows[0][3])
    assert email_parts == {"subject": "Late: {{ order.id }} v2", "text": "Sorry. v2", "html": "<p>Sorry.</p> v2"}

    downgrade(empty_url, "b8d4f6e2c005")
    with engine.connect() as conn:
        back = conn.execute(
            text(
                "SELECT t.part, v.source FROM templates t"
                " JOIN template_versions v ON v.template_id = t.id ORDER BY t.part"
            )
        ).all()
    assert [tuple(r) for r in back] == [
        ("html", "<p>Sorry.</p> v2"),
        ("sms", "Acme: late. v2"),
        ("subject", "Late: {{ order.id }} v2"),
        ("text", "Sorry. v2"),
    ]
    engine.dispose()


def test_the_sha256_chain_is_checked_then_signed_with_the_key_and_replies_set_apart(empty_url: str) -> None:
    import hashlib
    import json
    from datetime import UTC, datetime

    from engine.audit import verify_chain
    from engine.clock import format_instant

    upgrade(empty_url, "b8c9d0e10008")
    engine = make_engine(empty_url)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    entries = [
        ("system", "event.accepted", "event:1", {"source": "events", "type": "customer.upserted"}),
        (
            "customer",
            "customer.replied",
            "customer:C1",
            {"channel": "sms", "length": 19, "text": "ring the bell twice"},
        ),
        ("system", "notice.sent", "notice:1", {"channel": "email", "stage": "initial"}),
    ]
    prev = "0" * 64
    with engine.begin() as conn:
        for seq, (actor, action, subject, details) in enumerate(entries, start=1):
            canonical = {"seq": seq, "at": format_instant(at), "actor": actor, "action": action}
            canonical |= {"subject": subject, "details": details, "prev": prev}
            text_ = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            digest = hashlib.sha256(text_.encode()).hexdigest()
            conn.execute(
                text(
                    "INSERT INTO audit_entries (seq, at, actor, action, subject, details, prev_hash, hash)"
                    " VALUES (:seq, :at, :actor, :action, :subject, :details, :prev, :hash)"
                ),
                {"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject}
                | {"details": json.dumps(details), "prev": prev, "hash": digest},
            )
            prev = digest

    upgrade(empty_url)
    assert verify_chain(engine).ok and verify_chain(engine).checked == 3
    with engine.connect() as conn:
        details = conn.execute(text("SELECT details FROM audit_entries WHERE seq = 2")).scalar_one()
        kept = conn.execute(text("SELECT customer_id, data FROM audit_personal WHERE seq = 2")).one()
    details = details if isinstance(details, dict) else json.loads(details)
    assert "text" not in details and details["personal"]["of"] == "C1"
    assert kept[0] == "C1" and "ring the bell twice" in str(kept[1])

    downgrade(empty_url, "b8c9d0e10008")  # back to plain SHA-256, which the previous release verifies
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, hash FROM audit_entries ORDER BY seq")).all()
    assert len(rows) == 3 and rows[-1][1] != prev  # the reply's words stay out of the chain
    engine.dispose()


def test_a_broken_chain_stops_the_upgrade_rather_than_being_signed_again(empty_url: str) -> None:
    upgrade(empty_url, "b8c9d0e10008")
    engine = make_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_entries (seq, at, actor, action, subject, details, prev_hash, hash)"
                " VALUES (1, '2026-03-01 00:00:00', 'system', 'x', 'x:1', '{}', :genesis, 'forged')"
            ),
            {"genesis": "0" * 64},
        )
    with pytest.raises(RuntimeError, match="audit entry 1 does not verify"):
        upgrade(empty_url)
    engine.dispose()
