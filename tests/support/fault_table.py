"""The faults table (issue 14, item 7): each fault experiment records what it counted — delivered,
duplicated, stranded, time to recover — and the run prints one table at the end and writes it to
var/faults.md, so the figures a closing note quotes come from the run that checked them.

A pytest plugin registered in tests/conftest.py; tests take the `fault_table` fixture and call `record`.
The counts are the experiment's own measurements (the test asserts on the same numbers)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

OUTPUT = Path(__file__).resolve().parents[2] / "var" / "faults.md"


@dataclass(frozen=True)
class FaultRow:
    experiment: str
    delivered: int | None
    duplicated: int | None
    stranded: int | None
    recovery: str


def duplicates(recipients: Iterable[str]) -> int:
    """Messages beyond the first that reached the same recipient."""
    return sum(count - 1 for count in Counter(recipients).values() if count > 1)


class FaultTable:
    def __init__(self) -> None:
        self.rows: list[FaultRow] = []

    def record(
        self,
        experiment: str,
        *,
        delivered: int | None = None,
        duplicated: int | None = None,
        stranded: int | None = None,
        recovery: str = "—",
    ) -> None:
        self.rows.append(FaultRow(experiment, delivered, duplicated, stranded, recovery))

    def markdown(self) -> str:
        def cell(value: int | None) -> str:
            return "—" if value is None else str(value)

        lines = ["| experiment | delivered | duplicated | stranded | time to recover |", "|---|---|---|---|---|"]
        lines += [
            f"| {r.experiment} | {cell(r.delivered)} | {cell(r.duplicated)} | {cell(r.stranded)} | {r.recovery} |"
            for r in self.rows
        ]
        return "\n".join(lines) + "\n"

    @pytest.fixture(name="fault_table")
    def fixture(self) -> FaultTable:
        return self

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.rows:
            return
        table = self.markdown()
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        OUTPUT.write_text(table)
        terminalreporter.write_sep("-", f"faults table (also {OUTPUT.relative_to(OUTPUT.parents[1])})")
        terminalreporter.write(table)
