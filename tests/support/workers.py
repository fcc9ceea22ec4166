"""A real `forewarn worker` process for scaled-out tests, and patient polling for what it does."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def worker_process(env: dict[str, str], log_path: Path, *, threads: int) -> Iterator[subprocess.Popen[bytes]]:
    """Run `forewarn worker` with `env`, its output in `log_path`; stop it on exit, and fail the test if
    it logged a traceback (a crash in a worker thread is otherwise invisible to the test)."""
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "worker", "--threads", str(threads)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    output = log_path.read_text()
    assert "Traceback" not in output, output


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
