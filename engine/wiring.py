"""The wiring, in one place: a process's runtime from its settings (database, clock, templates, channel
adapters), the dramatiq broker (FOREWARN_BROKER_URL; none = the in-process StubBroker) and the jobs its
actors run. Everything else receives the `Runtime` and never builds one.

Actors take ids, reload state, and are idempotent (polar's rule), so a redelivered message is harmless.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker

from engine.broker_batch import enqueue_all
from engine.broker_health import BrokerHealth
from engine.care import webhook as care_webhook
from engine.clock import Clock, SystemClock, parse_duration
from engine.compose.store import TemplateStore, seed_templates
from engine.config import Settings
from engine.db import make_engine
from engine.db.migrations import upgrade
from engine.delivery.service import deliver
from engine.detection.outages.threads import sync_threads
from engine.processing import apply_event
from engine.runtime import Runtime
from engine.vocabulary import Job

log = logging.getLogger(__name__)

QUEUE = "forewarn"
# Queued by builds before every delivery job carried a list of ids; still drained after an upgrade.
LEGACY_DELIVER_ONE = "notices.deliver"


def build_runtime(settings: Settings, *, clock: Clock | None = None, with_channels: bool = True) -> Runtime:
    """The runtime a process works with; the channel adapters and callbacks come from `integrations`."""
    from integrations.channels import build_callbacks, build_channels

    real_clock = clock or SystemClock()
    rt = Runtime(
        settings=settings,
        db=make_engine(settings.database_url, pool_size=max(5, settings.worker_threads + 2)),
        clock=real_clock,
        templates=TemplateStore(),
    )
    if with_channels:
        rt.channels = build_channels(settings, real_clock)
        rt.callbacks = build_callbacks(settings)
    return rt


def start(settings: Settings, *, migrate: bool) -> tuple[Runtime, BrokerDispatcher]:
    """A process's runtime with its jobs going through the configured broker, templates seeded."""
    if migrate:
        upgrade(settings.database_url)
    rt = build_runtime(settings)
    with rt.unit_of_work() as session:
        seed_templates(session, now=rt.clock.now())
    dispatcher = BrokerDispatcher(
        make_broker(settings.broker_url, namespace=settings.queue_name),
        queue=settings.queue_name,
        grace_seconds=parse_duration(settings.broker_grace).total_seconds(),
    )
    rt.dispatcher = dispatcher
    install_runtime(rt)
    return rt, dispatcher


_runtime: Runtime | None = None
_lock = threading.Lock()


def install_runtime(rt: Runtime) -> None:
    """Actors run in worker threads of this process; they all share this runtime."""
    global _runtime
    with _lock:
        _runtime = rt


def current_runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("no runtime installed in this process (call engine.wiring.install_runtime)")
    return _runtime


def _apply_event(event_id: int) -> None:
    apply_event(current_runtime(), event_id)


def _deliver(notice_ids: list[int]) -> None:
    deliver(current_runtime(), notice_ids)


def _deliver_one(notice_id: int) -> None:
    deliver(current_runtime(), [notice_id])


def _sync_threads(incident_id: str) -> None:
    sync_threads(current_runtime(), incident_id)


def _care_task_webhook(task_id: int, event: care_webhook.Event) -> None:
    care_webhook.send(current_runtime(), task_id, event)


HANDLERS: dict[str, Callable[..., Any]] = {
    Job.APPLY_EVENT: _apply_event,
    Job.DELIVER: _deliver,
    Job.SYNC_THREADS: _sync_threads,
    Job.CARE_TASK_WEBHOOK: _care_task_webhook,
    LEGACY_DELIVER_ONE: _deliver_one,
}


def make_broker(url: str, *, namespace: str = QUEUE) -> dramatiq.Broker:
    if not url:
        return StubBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url, namespace=namespace)  # type: ignore[no-untyped-call]
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url)
    raise ValueError(f"FOREWARN_BROKER_URL must start with redis:// or amqp://, got {url.split(':', 1)[0]}://")


class BrokerDispatcher:
    """Sends jobs by actor name through a broker; actors are declared on it once."""

    def __init__(
        self,
        broker: dramatiq.Broker,
        handlers: dict[str, Callable[..., Any]] | None = None,
        *,
        queue: str = QUEUE,
        max_retries: int = 20,
        grace_seconds: float = 10.0,
    ) -> None:
        self.broker = broker
        self.queue = queue
        self.health = BrokerHealth(grace_seconds=grace_seconds, ping=self.ping)
        self.actors: dict[str, dramatiq.Actor[Any, Any]] = {}
        for name, fn in (HANDLERS if handlers is None else handlers).items():
            self.actors[name] = dramatiq.Actor(
                fn,
                broker=broker,
                actor_name=name,
                queue_name=queue,
                priority=0,
                options={"max_retries": max_retries, "min_backoff": 500, "max_backoff": 60_000},
            )

    def send(self, actor_name: str, *args: Any, delay: timedelta | None = None) -> None:
        actor = self.actors[actor_name]
        try:
            if delay is None:
                actor.send(*args)
            else:
                actor.send_with_options(args=args, delay=int(delay.total_seconds() * 1000))
        except Exception:
            self.health.failed()
            raise
        self.health.answered()

    def send_many(self, jobs: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
        """Queue undelayed jobs together: one round trip on Redis (engine.broker_batch), else one by one."""
        messages = [self.actors[name].message(*args) for name, args in jobs]
        try:
            enqueue_all(self.broker, messages)
        except Exception:
            self.health.failed()
            raise
        self.health.answered()

    def backlog(self) -> int | None:
        """Jobs on our queue not finished yet (waiting, or taken but not acknowledged); None if unknown.

        The scheduler asks before re-queueing notices whose job looks lost: while a big fan-out is still
        draining, a job queued minutes ago is most likely just waiting its turn.
        """
        try:
            if isinstance(self.broker, StubBroker):
                queue = self.broker.queues.get(self.queue)
                return queue.unfinished_tasks if queue is not None else 0
            client = getattr(self.broker, "client", None)
            if client is not None:  # Redis keeps every message in the queue's hash until it is acked
                return int(client.hlen(f"{self.broker.namespace}:{self.queue}.msgs"))  # type: ignore[attr-defined]
            parameters = getattr(self.broker, "parameters", None)
            if parameters is not None:  # RabbitMQ: the messages ready for a consumer
                return rabbitmq_ready(parameters, self.queue)
        except Exception as exc:  # the relay then falls back to re-queueing by age alone
            log.warning("could not read the broker's queue length: %s", type(exc).__name__)
        return None

    def ping(self) -> None:
        """Raise unless the broker answers (used by /healthz)."""
        client = getattr(self.broker, "client", None)
        if client is not None:  # Redis
            client.ping()
            return
        parameters = getattr(self.broker, "parameters", None)
        if parameters is not None:  # RabbitMQ
            rabbitmq_ready(parameters, self.queue)


def fair_worker(broker: dramatiq.Broker, *, threads: int, timeout: int = 200) -> dramatiq.Worker:
    """A dramatiq Worker that takes from the queue no more jobs than it has threads to run: dramatiq's
    default (twice the threads) lets the first worker up hold a whole fan-out while the others sit idle."""
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=timeout)
    worker.queue_prefetch = threads
    return worker


def rabbitmq_ready(parameters: Any, queue: str) -> int:
    """Messages ready on `queue`, by AMQP's passive queue.declare on a connection of its own.

    dramatiq's `get_queue_message_counts` is for its tests and reuses the broker's thread-local
    connection, which stays broken for minutes after RabbitMQ restarts; a fresh connection per question
    (once a tick) answers as soon as RabbitMQ does.
    """
    import pika

    connection = pika.BlockingConnection(parameters)
    try:
        return int(connection.channel().queue_declare(queue=queue, passive=True).method.message_count)
    finally:
        connection.close()


class InProcessWorker:
    """A dramatiq Worker running in this process (the embedded default, and tests)."""

    def __init__(self, broker: dramatiq.Broker, *, threads: int) -> None:
        self.worker = fair_worker(broker, threads=threads, timeout=100)
        self._lock = threading.Lock()

    def start(self) -> None:
        self.worker.start()

    def stop(self) -> None:
        with self._lock:
            self.worker.stop()
