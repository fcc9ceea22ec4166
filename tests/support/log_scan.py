"""No personal data in any log line, over a whole test run (issue 14, item 5).

A pytest plugin (registered in tests/conftest.py): a handler on the root logger sees every record any test
makes, at the levels the run logs at, and keeps the lines that carry personal data the test builders put
in (names, phone numbers and addresses as a log line would show them, message bodies, unsubscribe and
status-page tokens). When the run ends, any such line fails it with the lines and the tests that made
them. What is checked is the line as written: the handler applies the engine's own `RedactingFilter`
masking (to a copy; other handlers see the record unchanged), as `forewarn serve`/`worker` configure it.
`test_input_and_logs.py` checks the same on a real `forewarn serve` at DEBUG, uvicorn's access log on.
"""

from __future__ import annotations

import logging
import re

import pytest

from engine.logmask import redact, redact_path
from support import builders

# What the builders and fault tests put in front of the engine, as it would show up in a line.
KNOWN = (
    builders.customer()["name"],  # "Ana Souza"
    "Souza",
    builders.customer()["email"],
    builders.customer()["phone"],
    "Zephyrine",
    "Quaxley",
)
# An unsubscribe or status-page link with its token in it (redact_path leaves `/unsubscribe/***`).
TOKEN_PATH = re.compile(r"/(?:unsubscribe|s)/[A-Za-z0-9_\-]{12,}\.[A-Za-z0-9_\-]{8,}")


class LogScan(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.test = "(collection)"
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = redact_path(redact(record.getMessage()))
        except Exception:  # a record whose args do not fit its message is logging's business, not ours
            return
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + redact(logging.Formatter().formatException(record.exc_info))
        found = [known for known in KNOWN if known in text]
        if TOKEN_PATH.search(text):
            found.append("a token in a link")
        if found and len(self.leaks) < 50:
            self.leaks.append(f"{self.test}: {record.name} {record.levelname}: {found}: {text[:300]}")


class LogScanPlugin:
    def __init__(self) -> None:
        self.handler = LogScan()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        logging.getLogger().addHandler(self.handler)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logstart(self, nodeid: str, location: object) -> None:
        self.handler.test = nodeid

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        logging.getLogger().removeHandler(self.handler)
        if self.handler.leaks:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.handler.leaks:
            terminalreporter.section("personal data in log lines (issue 14): the run fails", red=True)
            for line in self.handler.leaks:
                terminalreporter.line(line)
