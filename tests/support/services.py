"""Real PostgreSQL, Redis and RabbitMQ for tests: skip with a reason locally, fail in CI when missing."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest


def require(env_name: str) -> str:
    url = os.environ.get(env_name, "")
    problem = None if url else f"{env_name} is not set"
    if url:
        parsed = urlparse(url.replace("+psycopg", ""))
        try:
            with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 0), timeout=2):
                pass
        except OSError as exc:
            problem = f"{env_name} ({parsed.hostname}:{parsed.port}) does not answer: {exc}"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs this service: {problem}")
        pytest.skip(problem)
    return url
