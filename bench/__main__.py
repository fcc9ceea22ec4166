"""`make bench`: replay a 30-day trace and score it; timings are reported, not asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tools"


def main() -> None:
    seeds = [int(s) for s in os.environ.get("BENCH_SEEDS", "7").split(",")]
    days = os.environ.get("BENCH_DAYS", "30")
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            trace, out = Path(tmp) / f"trace-{seed}.jsonl", Path(tmp) / f"notices-{seed}.jsonl"
            made = subprocess.run(
                [sys.executable, str(TOOLS / "make_scenario.py"), "--seed", str(seed), "--days", days],
                check=True,
                capture_output=True,
                text=True,
            )
            trace.write_text(made.stdout)
            events = made.stdout.count("\n")
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "engine.cli", "replay", str(trace), "--out", str(out)],
                check=True,
                capture_output=True,
                text=True,
            )
            seconds = time.perf_counter() - started
            score = json.loads(
                subprocess.run(
                    [sys.executable, str(TOOLS / "score_replay.py"), str(trace), str(out), "--json"],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            print(
                f"replay seed={seed} days={days}: {events} events in {seconds:.1f} s ({events / seconds:.0f} events/s)"
            )
            print("  score: " + json.dumps(score))


if __name__ == "__main__":
    main()
