"""A real `forewarn worker` process for scaled-out tests, and patient polling for what it does."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


@dataclass
class Worker:
    """A `forewarn worker` process, its output appended to `log_path`."""

    env: dict[str, str]
    log_path: Path
    threads: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "engine.cli", "worker", "--threads", str(self.threads)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def finish(self) -> None:
        """Stop the worker as an operator would (SIGTERM): it completes every job it has started, hands
        back to the broker those it had only taken, and exits."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def worker_process(env: dict[str, str], log_path: Path, *, threads: int) -> Iterator[Worker]:
    """Run `forewarn worker` with `env`, its output in `log_path`; stop it on exit, and fail the test if
    it logged a traceback (a crash in a worker thread is otherwise invisible to the test)."""
    log_path.write_text("")
    worker = Worker(env, log_path, threads)
    worker.start()
    try:
        yield worker
    finally:
        worker.finish()
    output = log_path.read_text()
    assert "Traceback" not in output, output


class Backlogged(Protocol):
    def backlog(self) -> int | None: ...


def every_job_done(worker: Worker, broker: Backlogged, *, rounds: int = 5) -> None:
    """Return once the worker has done every job on the queue, so that what the test asserts next is all
    that will ever happen, not what happened to have happened yet.

    The worker is stopped once it has taken every job (a stopped worker has done each job it started and
    handed the others back); if it handed any back, it runs again until none is left. Restarted, it
    carries on as the rest of the test expects.
    """
    for _ in range(rounds):
        wait_until(lambda: broker.backlog() == 0, what="the worker to take every job on the queue")
        worker.finish()
        left = broker.backlog()
        worker.start()
        if left == 0:
            return
    raise AssertionError(f"jobs still on the queue after {rounds} rounds of the worker")


def wait_until(
    predicate: Callable[[], Any],
    *,
    what: str,
    timeout: float = 90.0,
    explain: Callable[[], str] | None = None,
) -> None:
    """Poll until `predicate()`; success returns at once. Generous, because a worker process starting on
    a loaded CI machine can take a while; on timeout `explain()` says what the engine was doing."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            detail = f"\n{explain()}" if explain else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(0.1)
