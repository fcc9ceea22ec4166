"""A live console per test (its own SQLite database, the real SMTP channel to a test server) and one headless
Chromium per run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support import builders
from support.browser import CHROMIUM_ARGS, require_chromium, serving
from support.databases import sqlite_copy
from support.runtime import seeded_runtime
from support.smtp_server import SmtpTestServer

from engine.api.app import create_app
from engine.clock import SimulatedClock
from engine.config import Settings
from engine.runtime import Runtime
from integrations.feeds import build_feeds


@dataclass
class Live:
    rt: Runtime
    url: str
    smtp: SmtpTestServer
    clock: SimulatedClock


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[[], Any]]:
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def live_factory(
    tmp_path: Path, sqlite_template: Path, smtp_server: SmtpTestServer, clock: SimulatedClock
) -> Iterator[Callable[..., Live]]:
    stack: list[Any] = []

    def start(**overrides: Any) -> Live:
        settings = Settings(
            database_url=sqlite_copy(sqlite_template, tmp_path),
            smtp_url=smtp_server.url(),
            sms_dir=str(tmp_path / "sms"),
            outbox_dir=str(tmp_path / "outbox"),
            webhook_secret_events=builders.SECRET,
            public_url="https://notify.example.com",
            _env_file=None,  # type: ignore[call-arg]
            **overrides,
        )
        rt = seeded_runtime(settings, clock)
        server = serving(create_app(rt, feeds=build_feeds(settings)))
        url = server.__enter__()
        stack.append((server, rt))
        return Live(rt, url, smtp_server, clock)

    yield start
    for server, rt in reversed(stack):
        server.__exit__(None, None, None)
        rt.close()


@pytest.fixture
def live(live_factory: Callable[..., Live]) -> Live:
    return live_factory()
