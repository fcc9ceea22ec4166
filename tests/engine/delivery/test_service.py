"""Batch delivery (`notices.deliver_batch`): each notice at most once, whatever the broker does with the job."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select, update
from support import builders
from support.databases import truncate_all
from support.outage_story import status, subscribers
from support.pipeline import feed, pause_sending
from support.services import require
from support.smtp_server import SmtpTestServer
from support.workers import Worker, every_job_done, wait_until, worker_process

from engine.audit import verify_chain
from engine.clock import SimulatedClock, SystemClock
from engine.compose.store import TemplateStore, seed_templates
from engine.config import Settings
from engine.db import make_engine
from engine.delivery.service import deliver
from engine.detection.outages.announcement import scan_outages
from engine.models import AuditEntry, ChannelSuppression, DeliveryAttempt, Notice, Situation
from engine.runtime import Runtime
from engine.vocabulary import SuppressionKind
from engine.wiring import HANDLERS, BrokerDispatcher, make_broker
from integrations.channels.smtp import SmtpChannel

BATCH_ACTOR = "notices.deliver_batch"


class Recorder:
    """A broker that keeps the jobs, so the test can hand them out, and out again."""

    def __init__(self, forward: Any = None) -> None:
        self.jobs: list[tuple[str, tuple[Any, ...]]] = []
        self.forward = forward

    def send(self, actor_name: str, *args: Any, delay: timedelta | None = None) -> None:
        self.jobs.append((actor_name, args))
        if self.forward is not None:
            self.forward.send(actor_name, *args, delay=delay)

    def batches(self) -> list[list[int]]:
        return [list(args[0]) for name, args in self.jobs if name == BATCH_ACTOR]


@pytest.fixture
def mail(rt: Runtime, smtp_server: SmtpTestServer) -> SmtpTestServer:
    rt.channels["email"].close()
    rt.channels["email"] = SmtpChannel(smtp_server.url(), rt.settings.email_from, None, rt.clock)
    return smtp_server


def announce(rt: Runtime, clock: SimulatedClock, *cids: str, batch: int = 500) -> Recorder:
    recorder = Recorder()
    rt.dispatcher = recorder
    subscribers(rt, "checkout", *cids)
    status(rt, "checkout", "major_outage")
    clock.advance(timedelta(minutes=10))
    scan_outages(rt, batch=batch)
    return recorder


def rows(rt: Runtime, model: Any) -> list[Any]:
    with Session(rt.db) as session:
        return list(session.exec(select(model)).all())


def test_a_redelivered_batch_job_sends_nothing_twice(rt: Runtime, clock: SimulatedClock, mail: SmtpTestServer) -> None:
    cids = [f"C{i:03d}" for i in range(40)]
    recorder = announce(rt, clock, *cids, batch=15)
    jobs = recorder.batches()
    assert [len(ids) for ids in jobs] == [15, 15, 10]  # queued per fan-out transaction, not per notice
    for ids in jobs:
        assert deliver(rt, ids) == Counter(sent=len(ids))
    # The broker hands every job out again: once more, then to two workers at the same moment.
    for ids in jobs:
        assert deliver(rt, ids) == Counter(skipped=len(ids))
    racers = [threading.Thread(target=lambda: [deliver(rt, ids) for ids in jobs]) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()

    assert sorted(m.rcpt_tos[0] for m in mail.messages) == sorted(f"{c.lower()}@example.com" for c in cids)
    notices = rows(rt, Notice)
    assert len(notices) == 40 and all((n.status, n.attempts) == ("sent", 1) for n in notices)
    assert {n.provider_id for n in notices} == {n.message_id for n in notices}
    assert len(rows(rt, DeliveryAttempt)) == 40
    sent = [e for e in rows(rt, AuditEntry) if e.action == "notice.sent"]
    assert sorted(e.subject for e in sent) == sorted(f"notice:{n.id}" for n in notices)
    assert verify_chain(rt.db).ok


def test_one_batch_records_each_outcome_as_single_delivery_would(
    rt: Runtime, clock: SimulatedClock, mail: SmtpTestServer
) -> None:
    [ids] = announce(rt, clock, "C1", "C2", "C3", "C4").batches()
    mail.fail_next("451 4.3.0 Try again later")  # C1: the server is busy
    mail.fail_next("550 5.1.1 No such user", stage="rcpt")  # C2: the address is gone
    assert deliver(rt, ids, jitter=False) == Counter(sent=2, retrying=1, failed=1)
    with Session(rt.db) as session:
        by_customer = {n.customer_id: n for n in session.exec(select(Notice))}
        outcomes = sorted(session.exec(select(DeliveryAttempt.outcome)).all())
        audited = [e.action for e in session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))][-5:]
    busy, gone = by_customer["C1"], by_customer["C2"]
    assert (busy.status, busy.attempts, busy.send_at) == ("pending", 1, clock.now() + timedelta(seconds=30))
    assert busy.status_reason == "retrying: 451 4.3.0 Try again later" and busy.enqueued_at is None
    assert (gone.status, gone.status_reason) == ("failed", "550 5.1.1 No such user")
    assert by_customer["C3"].status == by_customer["C4"].status == "sent"
    assert outcomes == ["rejected", "sent", "sent", "transient"]
    # The dead mailbox goes on the suppression list, as a single delivery would put it.
    assert audited == ["notice.retry_scheduled", "notice.failed", "notice.sent", "notice.sent", "suppression.added"]

    assert deliver(rt, ids, jitter=False) == Counter(skipped=4)  # the retry is not due yet
    clock.advance(timedelta(seconds=30))
    assert deliver(rt, ids, jitter=False) == Counter(sent=1, skipped=3)
    assert len(mail.messages) == 3
    assert verify_chain(rt.db).ok


def test_a_batch_marks_no_more_refused_addresses_than_the_hour_allows(
    rt: Runtime, clock: SimulatedClock, mail: SmtpTestServer
) -> None:
    rt.settings = rt.settings.model_copy(update={"max_refused_addresses_per_hour": 1})
    [ids] = announce(rt, clock, "C1", "C2", "C3").batches()
    mail.fail_next("550 5.1.1 No such user", stage="rcpt", times=3)  # a relay refusing everyone
    assert deliver(rt, ids, jitter=False) == Counter(failed=3)
    with Session(rt.db) as session:
        marked = session.exec(select(ChannelSuppression.address)).all()
        withheld = session.exec(select(AuditEntry).where(AuditEntry.action == "suppression.withheld")).all()
    assert marked == ["c1@example.com"]
    assert [(e.details["source"], e.details["addresses"], e.details["limit_per_hour"]) for e in withheld] == [
        ("smtp", 2, 1)
    ]
    assert verify_chain(rt.db).ok


def test_paused_deferred_and_fixed_meanwhile(rt: Runtime, clock: SimulatedClock, mail: SmtpTestServer) -> None:
    feed(
        rt,
        builders.customer_upserted(
            clock.now(), cid="T1", components=["checkout"], channels=["sms"], timezone="Asia/Tokyo"
        ),
    )
    recorder = announce(rt, clock, "C1", "C2", "C3")
    [ids] = recorder.batches()
    text = next(n for n in rows(rt, Notice) if n.customer_id == "T1")
    assert text.id not in ids and text.deferred  # 03:00 in Tokyo: not queued now

    pause_sending(rt, True, "staff:api", "checking")
    assert deliver(rt, [*ids, text.id]) == Counter(skipped=4)
    assert all((n.status, n.attempts) == ("pending", 0) for n in rows(rt, Notice))

    pause_sending(rt, False, "staff:api", None)
    with rt.unit_of_work() as session:  # C2's problem was fixed while its job waited in the queue
        session.exec(update(Situation).where(col(Situation.customer_id) == "C2").values(status="resolved"))
    assert deliver(rt, [*ids, text.id]) == Counter(sent=2, dropped=1, skipped=1)
    by_customer = {n.customer_id: n for n in rows(rt, Notice)}
    assert by_customer["C2"].status == "dropped"
    assert by_customer["C2"].status_reason == "the problem was fixed before this was sent"
    assert by_customer["T1"].status == "pending"  # still waiting for the morning
    assert sorted(m.rcpt_tos[0] for m in mail.messages) == ["c1@example.com", "c3@example.com"]


BROKERS = {"redis": "FOREWARN_TEST_REDIS_URL", "rabbitmq": "FOREWARN_TEST_AMQP_URL"}


@pytest.fixture(params=list(BROKERS))
def worker(
    request: pytest.FixtureRequest, postgres_url: str, smtp_server: SmtpTestServer, tmp_path: Path
) -> Iterator[tuple[Runtime, Recorder, Worker]]:
    """PostgreSQL, a real broker, and `forewarn worker` in its own process, sending to a real SMTP server."""
    broker_url = require(BROKERS[request.param])
    truncate_all(postgres_url)
    queue = f"forewarn-batch-test-{os.getpid()}"
    settings = Settings(
        database_url=postgres_url,
        broker_url=broker_url,
        smtp_url=smtp_server.url(),
        outage_debounce="0s",
        queue_name=queue,
        _env_file=None,
    )  # type: ignore[call-arg]
    broker = make_broker(broker_url, namespace=queue)
    broker.flush_all()
    recorder = Recorder(BrokerDispatcher(broker, HANDLERS, queue=queue))
    rt = Runtime(
        settings=settings,
        db=make_engine(postgres_url),
        clock=SystemClock(),
        templates=TemplateStore(),
        dispatcher=recorder,
    )
    with rt.unit_of_work() as session:
        seed_templates(session, now=rt.clock.now())
    env = {
        **os.environ,
        "FOREWARN_DATABASE_URL": postgres_url,
        "FOREWARN_BROKER_URL": broker_url,
        "FOREWARN_SMTP_URL": smtp_server.url(),
        "FOREWARN_SMS_DIR": str(tmp_path / "sms"),
        "FOREWARN_QUEUE_NAME": queue,
        "FOREWARN_LOG_LEVEL": "WARNING",
    }
    try:
        with worker_process(env, tmp_path / "worker.log", threads=3) as process:
            yield rt, recorder, process
    finally:
        broker.close()
        rt.close()


def test_a_worker_process_delivers_a_fan_out_in_batches_once(
    worker: tuple[Runtime, Recorder, Worker], smtp_server: SmtpTestServer
) -> None:
    rt, recorder, process = worker
    cids = [f"C{i:03d}" for i in range(30)]
    subscribers(rt, "checkout", *cids)
    status(rt, "checkout", "major_outage")
    assert scan_outages(rt, batch=12) == 30
    jobs = recorder.batches()
    assert len(jobs) == 3 and recorder.jobs == [(BATCH_ACTOR, (ids,)) for ids in jobs]
    wait_until(lambda: len(smtp_server.messages) == 30, what="30 emails at the SMTP server")
    with Session(rt.db) as session:
        wait_until(
            lambda: session.exec(select(Notice).where(Notice.status == "sent")).all().__len__() == 30,
            what="every notice marked sent",
        )
    for ids in jobs * 2:  # the broker delivers every job twice more
        recorder.forward.send(BATCH_ACTOR, ids)
    every_job_done(process, recorder.forward)
    assert len(smtp_server.messages) == 30
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == sorted(f"{c.lower()}@example.com" for c in cids)


def test_a_batch_claim_honours_the_suppression_list_and_the_daily_cap(
    rt: Runtime, clock: SimulatedClock, mail: SmtpTestServer
) -> None:
    [ids] = announce(rt, clock, "C1", "C2", "C3").batches()
    rt.settings = rt.settings.model_copy(update={"max_notices_per_day": 1})
    with Session(rt.db) as session:
        by_customer = {n.customer_id: n for n in session.exec(select(Notice))}
        # C2's mailbox went on the list after the fan-out was planned (another worker saw it bounce).
        session.add(
            ChannelSuppression(
                channel="email",
                address="c2@example.com",
                reason="550 5.1.1 No such user",
                source="smtp",
                kind=SuppressionKind.UNDELIVERABLE,
                created_at=clock.now(),
            )
        )
        # C3 was already told something by email an hour ago: with a cap of one, this must wait.
        told = by_customer["C3"]
        session.add(
            Notice(
                situation_id=told.situation_id,
                customer_id="C3",
                thread_key="earlier",
                situation=told.situation,
                stage="initial",
                channel="email",
                recipient=told.recipient,
                template="t",
                body="earlier news",
                status="sent",
                send_at=clock.now() - timedelta(hours=1),
                sent_at=clock.now() - timedelta(hours=1),
                created_at=clock.now() - timedelta(hours=1),
            )
        )
        session.commit()

    report = deliver(rt, ids, jitter=False)

    assert (report["sent"], report["dropped"], report["held"]) == (1, 1, 1)
    assert [m.rcpt_tos[0] for m in mail.messages] == ["c1@example.com"]
    with Session(rt.db) as session:
        now = {n.customer_id: n for n in session.exec(select(Notice).where(col(Notice.id).in_(ids)))}
    assert now["C2"].status == "dropped" and "undeliverable" in (now["C2"].status_reason or "")
    assert now["C3"].status == "pending" and (now["C3"].status_reason or "").startswith("held: ")
    assert now["C3"].send_at == clock.now() + timedelta(hours=23)  # when the earlier one leaves the window
    assert verify_chain(rt.db).ok


def test_a_text_held_for_quiet_hours_is_worded_when_it_is_sent(rt: Runtime, clock: SimulatedClock) -> None:
    """Planned at 03:00 in Tokyo while checkout was down; by 08:00 it only fails for some customers. The text
    that waited for the morning says what is true when it is read, not what was true when it was planned."""
    feed(
        rt,
        builders.customer_upserted(
            clock.now(), cid="T1", components=["checkout"], channels=["sms"], timezone="Asia/Tokyo"
        ),
    )
    status(rt, "checkout", "major_outage")
    clock.advance(timedelta(minutes=10))
    scan_outages(rt)
    [text] = rows(rt, Notice)
    assert text.deferred and " down." in text.body
    status(rt, "checkout", "partial_outage")  # better, not news: nothing new is planned
    clock.advance(text.send_at - clock.now())
    assert deliver(rt, [text.id]) == Counter(sent=1)
    [sent] = rows(rt, Notice)
    assert "not working for some customers" in sent.body and " down." not in sent.body
