"""Delivery under faults, in one process: a database blip while recording, a provider down for a quarter
of an hour, a claim taken back from a worker thought dead. No email forgotten, none stranded, none twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select
from support.fault_table import FaultTable, duplicates
from support.outage_story import status, subscribers
from support.smtp_server import SmtpTestServer, free_port, running_smtp_server

from engine.audit import verify_chain
from engine.clock import SimulatedClock
from engine.delivery.claim import claim
from engine.delivery.ledger import Ledger
from engine.delivery.service import deliver, deliver_due
from engine.detection.outages.announcement import scan_outages
from engine.models import DeliveryAttempt, Notice
from engine.runtime import Runtime
from engine.scheduler import tick
from integrations.channels.smtp import SmtpChannel

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]


def announce(rt: Runtime, clock: SimulatedClock, count: int) -> list[int]:
    subscribers(rt, "checkout", *[f"C{i:03d}" for i in range(count)])
    status(rt, "checkout", "major_outage")
    clock.advance(timedelta(minutes=10))
    scan_outages(rt)
    with Session(rt.db) as session:
        return [n.id for n in session.exec(select(Notice).order_by(col(Notice.id))).all() if n.id is not None]


def stranded(rt: Runtime) -> int:
    counts = by_status(rt)
    return counts["pending"] + counts["sending"]


def by_status(rt: Runtime) -> Counter[str]:
    with Session(rt.db) as session:
        return Counter(str(n.status) for n in session.exec(select(Notice)).all())


def use_smtp(rt: Runtime, port: int) -> None:
    rt.channels["email"].close()
    rt.channels["email"] = SmtpChannel(f"smtp://127.0.0.1:{port}", rt.settings.email_from, None, rt.clock)


@pytest.fixture
def mail(rt: Runtime, smtp_server: SmtpTestServer) -> SmtpTestServer:
    use_smtp(rt, smtp_server.port)
    return smtp_server


@pytest.fixture
def record_blip(rt: Runtime) -> Iterator[None]:
    """The database refuses to mark any notice sent, as if it went away at that moment (the ledger's own
    writes still go through: a blip between two statements)."""
    postgres = rt.db.dialect.name == "postgresql"
    with rt.db.begin() as conn:
        if postgres:
            conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION blip() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'connection lost' USING ERRCODE = '08006'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER blip BEFORE UPDATE ON notices FOR EACH ROW "
                    "WHEN (NEW.status = 'sent' AND OLD.status = 'sending') EXECUTE FUNCTION blip()"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER blip BEFORE UPDATE ON notices "
                    "WHEN NEW.status = 'sent' AND OLD.status = 'sending' BEGIN SELECT RAISE(ABORT, 'blip'); END"
                )
            )
    yield
    lift_blip(rt)


def lift_blip(rt: Runtime) -> None:
    with rt.db.begin() as conn:
        conn.execute(
            text("DROP TRIGGER IF EXISTS blip" + (" ON notices" if rt.db.dialect.name == "postgresql" else ""))
        )


def test_a_database_blip_while_recording_forgets_no_email_that_went_out(
    rt: Runtime, clock: SimulatedClock, mail: SmtpTestServer, record_blip: None, fault_table: FaultTable
) -> None:
    ids = announce(rt, clock, 60)
    with pytest.raises(Exception):
        deliver(rt, ids)
    assert len(mail.messages) == 25  # the first chunk went out before its record step failed
    assert by_status(rt) == Counter(sending=25, pending=35)

    lift_blip(rt)
    report = deliver(rt, ids)  # the broker's retry of the same job
    assert report["settled"] == 25 and report["sent"] == 60
    assert by_status(rt) == Counter(sent=60)
    assert sorted(m.rcpt_tos[0] for m in mail.messages) == sorted(f"c{i:03d}@example.com" for i in range(60))
    with Session(rt.db) as session:
        assert len(session.exec(select(DeliveryAttempt)).all()) == 60  # one attempt each, written once
    assert verify_chain(rt.db).ok
    fault_table.record(
        f"database blip while recording sends ({rt.db.dialect.name}, 60 notices)",
        delivered=len({m.rcpt_tos[0] for m in mail.messages}),
        duplicated=duplicates(m.rcpt_tos[0] for m in mail.messages),
        stranded=stranded(rt),
        recovery="the job's first retry",
    )


def test_a_provider_down_for_a_quarter_of_an_hour_fails_nobody_and_burns_few_attempts(
    rt: Runtime, clock: SimulatedClock, fault_table: FaultTable
) -> None:
    port = free_port()
    use_smtp(rt, port)  # nothing listens there: connection refused, as when the relay is down
    announce(rt, clock, 30)
    for _ in range(15 * 4):  # fifteen minutes, a tick every 15 s
        deliver_due(rt)
        tick(rt)
        clock.advance(timedelta(seconds=15))
    counts = by_status(rt)
    assert counts == Counter(pending=30)  # none failed for good
    with Session(rt.db) as session:
        attempts = len(session.exec(select(DeliveryAttempt)).all())
        waiting = [n for n in session.exec(select(Notice)).all() if (n.status_reason or "").startswith("waiting:")]
    assert attempts <= 5 + 6  # five to learn it is down, then one probe per cooldown (30 s … 5 min)
    assert waiting, "the held notices say why they wait"

    with running_smtp_server(port=port) as server:  # the relay is back
        back_at = clock.now()
        for _ in range(6 * 4):  # the breaker's longest cooldown is 5 minutes
            deliver_due(rt)
            tick(rt)
            clock.advance(timedelta(seconds=15))
            if by_status(rt) == Counter(sent=30):
                break
        assert by_status(rt) == Counter(sent=30)
        assert sorted(m.rcpt_tos[0] for m in server.messages) == sorted(f"c{i:03d}@example.com" for i in range(30))
        fault_table.record(
            f"SMTP relay down 15 min ({rt.db.dialect.name}, 30 notices, {attempts} attempts while down)",
            delivered=len({m.rcpt_tos[0] for m in server.messages}),
            duplicated=duplicates(m.rcpt_tos[0] for m in server.messages),
            stranded=stranded(rt),
            recovery=f"{(clock.now() - back_at).total_seconds():.0f} s after the relay is back (engine clock)",
        )


def test_a_claim_taken_back_from_a_worker_thought_dead_is_not_sent_by_it_too(
    rt: Runtime, clock: SimulatedClock, mail: SmtpTestServer, fault_table: FaultTable
) -> None:
    ids = announce(rt, clock, 3)
    claimed = claim(rt, ids, Counter())  # a worker claims, then stalls for longer than the relay delay
    assert claimed is not None and len(claimed) == 3
    clock.advance(timedelta(minutes=3))
    report = tick(rt)  # the scheduler takes back what it never handed over, and the relay queues it again
    assert report.reconciled["released"] == 3
    assert by_status(rt) == Counter(pending=3)
    with Session(rt.db) as session:
        assert {n.attempts for n in session.exec(select(Notice)).all()} == {0}  # the attempt is given back
    # The stalled worker wakes up: its claim is gone, so it sends nothing.
    with Ledger(rt) as ledger:
        assert [ledger.start(notice) for notice in claimed] == [False, False, False]
    assert deliver(rt, ids) == Counter(sent=3)
    assert len(mail.messages) == 3
    fault_table.record(
        f"a stalled worker's claim taken back ({rt.db.dialect.name}, 3 notices)",
        delivered=len({m.rcpt_tos[0] for m in mail.messages}),
        duplicated=duplicates(m.rcpt_tos[0] for m in mail.messages),
        stranded=stranded(rt),
        recovery="the next scheduler tick after the 3 min relay delay",
    )
