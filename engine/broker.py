"""dramatiq wiring: the broker from FOREWARN_BROKER_URL (none = in-process StubBroker) and our actors."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker

log = logging.getLogger(__name__)

QUEUE = "forewarn"


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
        handlers: dict[str, Callable[..., Any]],
        *,
        queue: str = QUEUE,
        max_retries: int = 20,
    ) -> None:
        self.broker = broker
        self.queue = queue
        self.actors: dict[str, dramatiq.Actor[Any, Any]] = {}
        for name, fn in handlers.items():
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
        if delay is None:
            actor.send(*args)
        else:
            actor.send_with_options(args=args, delay=int(delay.total_seconds() * 1000))

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
            counts = getattr(self.broker, "get_queue_message_counts", None)
            if counts is not None:  # RabbitMQ: the messages ready for a consumer
                return int(counts(self.queue)[0])
        except Exception as exc:  # the relay then falls back to re-queueing by age alone
            log.warning("could not read the broker's queue length: %s", type(exc).__name__)
        return None

    def ping(self) -> None:
        """Raise unless the broker answers (used by /healthz)."""
        client = getattr(self.broker, "client", None)
        if client is not None:  # Redis
            client.ping()
            return
        connection = getattr(self.broker, "connection", None)
        if connection is not None and not connection.is_open:
            raise ConnectionError("broker connection is closed")


class InProcessWorker:
    """A dramatiq Worker running in this process (the embedded default, and tests)."""

    def __init__(self, broker: dramatiq.Broker, *, threads: int) -> None:
        self.worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
        self._lock = threading.Lock()

    def start(self) -> None:
        self.worker.start()

    def stop(self) -> None:
        with self._lock:
            self.worker.stop()
