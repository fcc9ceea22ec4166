"""Review-side benchmark: 1,000,000 notices (and as many audit entries) in PostgreSQL, seeded by COPY (not
timed), then filtered pages of the notice search and the audit log, one notice's page, a customer's
timeline, the incidents overview and the dashboard, each timed several times; the median is what counts.

FOREWARN_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test python -m bench.notices

BENCH_NOTICES (1000000), BENCH_REVIEW_RUNS (15).
"""

from __future__ import annotations

import hashlib
import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlmodel import Session, col, select

from bench.common import conninfo, fresh_database
from engine.clock import SimulatedClock
from engine.compose.store import TemplateStore
from engine.config import Settings
from engine.db import make_engine
from engine.models import Notice
from engine.read.audit_log import AuditSearch, csv_lines, search_audit
from engine.read.contacts import Viewer
from engine.read.customer_timeline import customer_timeline
from engine.read.dashboard import dashboard
from engine.read.incidents import incidents_overview
from engine.read.notice_detail import notice_detail
from engine.read.notice_search import NoticeSearch, search_notices
from engine.runtime import Runtime

NOTICES = int(os.environ.get("BENCH_NOTICES", "1000000"))
RUNS = int(os.environ.get("BENCH_REVIEW_RUNS", "15"))
DATABASE = os.environ.get("BENCH_REVIEW_DATABASE", "forewarn_bench_review")
CUSTOMERS = max(NOTICES // 5, 10)
INCIDENTS = 20
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SPAN = timedelta(days=90)  # the notices were written over the 90 days before NOW

ORDER_KINDS = [
    ("order.late_to_ship", 25),
    ("shipment.delayed", 40),
    ("shipment.exception", 15),
    ("shipment.stalled", 5),
]
STATUSES = [("sent", 900), ("dropped", 40), ("merged", 20), ("failed", 15), ("pending", 20), ("sending", 5)]
BODY = "Hi Ana, your Desk lamp (order A1001) is running late: the carrier now expects it on Thursday. " * 3


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _threads(rng: random.Random) -> Iterator[tuple[int, str, str, str | None, str | None, list[tuple[str, str]]]]:
    """(situation id, customer, kind, order, incident, [(stage, channel)…]) until NOTICES notices are made."""
    made, situation_id = 0, 0
    told: set[tuple[int, str]] = set()  # one situation per customer and incident
    while made < NOTICES:
        situation_id += 1
        customer = rng.randrange(CUSTOMERS)
        incident = f"INC-{1 + int(rng.paretovariate(1.2)) % INCIDENTS}" if rng.random() < 0.15 else None
        outage = incident is not None and (customer, incident) not in told
        if outage:
            told.add((customer, incident or ""))
        kind = "service.disruption" if outage else _pick(rng, ORDER_KINDS)
        order = None if outage else f"O{situation_id:07d}"
        incident = incident if outage else None
        channels = ["email", "sms"] if rng.random() < 0.3 else ["email" if rng.random() < 0.8 else "sms"]
        stages = ["initial"] + (["update"] if rng.random() < 0.3 else []) + (["resolved"] if rng.random() < 0.6 else [])
        if rng.random() < 0.02:
            stages = ["merged"]
        parts = [(stage, channel) for stage in stages for channel in channels][: NOTICES - made]
        made += len(parts)
        yield situation_id, f"C{customer:07d}", kind, order, incident, parts


def _seed(url: str) -> None:
    rng = random.Random(11)
    with psycopg.connect(conninfo(url)) as conn, conn.cursor() as cur:
        columns = "id, name, email, phone, locale, timezone, channels, components, extra, email_opted_out"
        with cur.copy(f"COPY customers ({columns}, created_at, updated_at) FROM STDIN") as copy:
            for i in range(CUSTOMERS):
                contact = (f"c{i:07d}@example.com", f"+1555{i:07d}")
                row = (f"C{i:07d}", f"Customer {i}", *contact, "en", "UTC", '["email", "sms"]', "[]", "{}", False)
                copy.write_row((*row, NOW - SPAN, NOW - SPAN))
        threads = list(_threads(rng))
        with cur.copy(
            "COPY situations (id, customer_id, kind, subject_key, order_id, incident_id, status, details,"
            " opened_at, updated_at) FROM STDIN"
        ) as copy:
            for sid, customer, kind, order, incident, _ in threads:
                key = f"order:{order}" if order else f"incident:{incident}"
                copy.write_row((sid, customer, kind, key, order, incident, "resolved", "{}", NOW - SPAN, NOW - SPAN))
        notice_columns = (
            "id, situation_id, customer_id, order_id, incident_id, thread_key, situation, stage, channel, recipient,"
            " locale, template, subject, body, status, status_reason, send_at, deferred, attempts, created_at,"
            " sent_at, provider_id"
        )
        notice_id = 0
        step = SPAN / NOTICES
        with cur.copy(f"COPY notices ({notice_columns}) FROM STDIN") as copy:
            for sid, customer, kind, order, incident, parts in threads:
                key = f"order:{order}" if order else f"incident:{incident}"
                for stage, channel in parts:
                    notice_id += 1
                    at = NOW - SPAN + step * notice_id
                    status = _pick(rng, STATUSES)
                    number = customer[1:]
                    recipient = f"c{number}@example.com" if channel == "email" else f"+1555{number}"
                    sent = status == "sent"
                    situation = "digest" if stage == "merged" else kind
                    subject = "Your order" if channel == "email" else None
                    copy.write_row(
                        (
                            *(notice_id, sid, customer, order, incident, key, situation, stage, channel, recipient),
                            *("en", f"{kind}/{stage}@v1", subject, BODY, status, None if sent else f"{status}: bench"),
                            *(at, False, 1, at, at if sent else None, f"SM{notice_id:012d}" if sent else None),
                        )
                    )
        _seed_audit(cur, rng, notice_id)
        cur.execute("SELECT setval('notices_id_seq', %s)", (notice_id,))
        cur.execute("ANALYZE")
        conn.commit()


def _seed_audit(cur: psycopg.Cursor[Any], rng: random.Random, notices: int) -> None:
    """One entry per notice, with a sprinkling of staff and webhook actors (the hashes only need be unique)."""
    actions = [("notice.planned", 40), ("notice.sent", 40), ("situation.opened", 10), ("event.accepted", 9)]
    step = SPAN / NOTICES
    with cur.copy("COPY audit_entries (seq, at, actor, action, subject, details, prev_hash, hash) FROM STDIN") as copy:
        for seq in range(1, NOTICES + 1):
            staff = rng.random() < 0.001
            action = "sending.paused" if staff else _pick(rng, actions)
            actor = f"staff:person{seq % 7}@example.com" if staff else "system"
            subject = f"notice:{1 + rng.randrange(notices)}" if action.startswith("notice") else f"situation:{seq}"
            digest = hashlib.sha256(str(seq).encode()).hexdigest()
            copy.write_row((seq, NOW - SPAN + step * seq, actor, action, subject, "{}", "0" * 64, digest))


def _time(label: str, run: Callable[[], int]) -> None:
    timings, found = [], 0
    for _ in range(RUNS):
        started = time.perf_counter()
        found = run()
        timings.append((time.perf_counter() - started) * 1000)
    print(f"  {label:<58} {found:>4} rows  median {statistics.median(timings):6.1f} ms  max {max(timings):6.1f} ms")


def _deep(session: Session, search: NoticeSearch, pages: int) -> int:
    """Walk `pages` pages by cursor; return the size of the last one."""
    cursor, size = None, 0
    for _ in range(pages):
        page = search_notices(session, NoticeSearch(**{**search.__dict__, "cursor": cursor}))
        size, cursor = len(page.items), page.next_cursor
    return size


def _notice_pages(session: Session) -> None:
    day = NOW - timedelta(days=60)

    def page(**filters: Any) -> Callable[[], int]:
        return lambda: len(search_notices(session, NoticeSearch(limit=50, **filters)).items)

    print(f"notice search, 50 a page, {NOTICES:,} notices:")
    _time("first page, no filter", page())
    _time("customer_id", page(customer_id="C0012345"))
    _time("email (exact)", page(email="c0012345@example.com"))
    _time("phone (exact)", page(phone="+15550012345"))
    order = session.exec(
        select(Notice.order_id).where(col(Notice.id) >= NOTICES // 2, col(Notice.order_id).is_not(None)).limit(1)
    ).first()
    _time("order_id", page(order_id=order))
    _time("incident_id (the biggest incident)", page(incident_id="INC-2"))
    _time("status=failed (1.5%)", page(status="failed"))
    _time(
        "situation=shipment.stalled, channel=sms, stage=update",
        page(situation="shipment.stalled", channel="sms", stage="update"),
    )
    _time("one day 60 days ago", page(since=day, until=day + timedelta(days=1)))
    _time("one day 60 days ago, status=failed", page(since=day, until=day + timedelta(days=1), status="failed"))
    _time(
        "incident_id, 20th page (20 cursor steps, total)",
        lambda: _deep(session, NoticeSearch(incident_id="INC-2", limit=50), 20),
    )


def _review_pages(session: Session, rt: Runtime) -> None:
    day = NOW - timedelta(days=60)
    print(f"audit log, 50 a page, {NOTICES:,} entries:")

    def audit_page(**filters: Any) -> Callable[[], int]:
        return lambda: len(search_audit(session, AuditSearch(limit=50, **filters)).items)

    _time("actor (a member of staff: 0.1% of entries)", audit_page(actor="staff:person3@example.com"))
    _time("action=notice.sent", audit_page(action="notice.sent"))
    _time("subject=notice:123456 (no entries: the index says so at once)", audit_page(subject="notice:123456"))
    _time("one day 60 days ago", audit_page(since=day, until=day + timedelta(days=1)))
    _time(
        "CSV of that day (every row, streamed)",
        lambda: sum(1 for _ in csv_lines(session, AuditSearch(since=day, until=day + timedelta(days=1)))) - 1,
    )
    viewer = Viewer(actor="bench")
    print("pages:")
    _time(
        "one notice with its timeline (GET /api/notices/{id})",
        lambda: len(notice_detail(session, rt, 987_654, viewer) or {}),
    )
    _time("a customer's timeline", lambda: len((customer_timeline(session, rt, "C0012345", viewer) or {})["timeline"]))
    _time(
        "incidents overview (the biggest has ~80,000 notices)",
        lambda: len(incidents_overview(session, now=NOW)["items"]),
    )
    _time(
        "dashboard (7 days: ~78,000 notices)",
        lambda: dashboard(session, now=NOW, zone=ZoneInfo("UTC"))["notices"]["week"]["total"] // 1000,
    )


def _runtime(url: str) -> Runtime:
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    return Runtime(settings=settings, db=make_engine(url), clock=SimulatedClock(NOW), templates=TemplateStore())


def _seed_incidents(url: str) -> None:
    """The incidents the notices name (the overview reads them from the incidents table)."""
    with psycopg.connect(conninfo(url)) as conn, conn.cursor() as cur:
        for k in range(1, INCIDENTS + 1):
            cur.execute(
                "INSERT INTO incidents (id, title, status, components, started_at, resolved_at, updated_at)"
                " VALUES (%s, 'Checkout is down', 'major_outage', '[\"checkout\"]', %s, NULL, %s)",
                (f"INC-{k}", NOW - timedelta(days=1), NOW),
            )
        conn.commit()


def main() -> None:
    admin = os.environ.get("FOREWARN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    url = fresh_database(admin, DATABASE)
    started = time.perf_counter()
    _seed(url)
    _seed_incidents(url)
    took = time.perf_counter() - started
    print(f"seeded {NOTICES:,} notices, {CUSTOMERS:,} customers, {NOTICES:,} audit entries in {took:.0f} s")
    rt = _runtime(url)
    with Session(rt.db) as session:
        _notice_pages(session)
        _review_pages(session, rt)
    rt.db.dispose()


if __name__ == "__main__":
    main()
