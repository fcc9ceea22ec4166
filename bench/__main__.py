"""`make bench`: replay a 30-day trace (and the same history in a faster and a slower world) and score it;
timings are reported, not asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.worlds import transform

TOOLS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tools"


def main() -> None:
    seeds = [int(s) for s in os.environ.get("BENCH_SEEDS", "7").split(",")]
    days = os.environ.get("BENCH_DAYS", "30")
    # Besides each trace as made, the same history in other worlds (bench/worlds.py): carriers renamed,
    # every interval scaled; the engine must learn their timings from the data. "" for none.
    worlds = [float(f) for f in os.environ.get("BENCH_WORLDS", "0.7,1.6").split(",") if f.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            trace = Path(tmp) / f"trace-{seed}.jsonl"
            made = subprocess.run(
                [sys.executable, str(TOOLS / "make_scenario.py"), "--seed", str(seed), "--days", days],
                check=True,
                capture_output=True,
                text=True,
            )
            trace.write_text(made.stdout)
            _replay_and_score(trace, Path(tmp), f"replay seed={seed} days={days}")
            events = [json.loads(line) for line in made.stdout.splitlines() if line.strip()]
            for factor in worlds:
                other = Path(tmp) / f"trace-{seed}-x{factor}.jsonl"
                other.write_text("".join(json.dumps(e) + "\n" for e in transform(events, factor)))
                _replay_and_score(other, Path(tmp), f"replay seed={seed} days={days} world=x{factor}")


def _replay_and_score(trace: Path, tmp: Path, label: str) -> None:
    out = tmp / f"notices-{trace.stem}.jsonl"
    events = trace.read_text().count("\n")
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
    print(f"{label}: {events} events in {seconds:.1f} s ({events / seconds:.0f} events/s)")
    print("  score: " + json.dumps(score))


if __name__ == "__main__":
    main()
