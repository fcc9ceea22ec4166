"""Several processes starting at once on a fresh database (a scaled-out deploy) all seed templates safely."""

from __future__ import annotations

import threading

from sqlmodel import Session, col, func, select

from engine.clock import SystemClock
from engine.compose.store import DEFAULT_TEMPLATE_ROOT, load_seed_templates, seed_sets, seed_templates
from engine.db import make_engine
from engine.models import AuditEntry, TemplateVersion


def test_workers_starting_together_seed_each_template_once(database_url: str) -> None:
    """`database_url` is migrated and empty (PostgreSQL is truncated), as on a first deploy."""
    engine = make_engine(database_url, pool_size=8)
    starters = 6
    barrier = threading.Barrier(starters)
    errors: list[BaseException] = []

    def start_worker() -> None:
        try:
            with Session(engine) as session:
                barrier.wait()
                seed_templates(session, now=SystemClock().now())
                session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start_worker) for _ in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with Session(engine) as session:
        assert session.exec(select(func.count(col(TemplateVersion.id)))).one() == len(
            list(seed_sets(load_seed_templates(DEFAULT_TEMPLATE_ROOT)))
        )
        seeded = session.exec(select(AuditEntry).where(AuditEntry.action == "templates.seeded")).all()
    assert len(seeded) == 1, "one process seeded; the others found the templates there"
    engine.dispose()
