"""The engine against the floor, world by world, in one run (issue 13, item 7).

    python -m bench.floor        (part of `make bench`; BENCH_FLOOR_SEED, BENCH_FLOOR_DAYS below)

For each world `make_scenario.py` makes (dense, sparse, mixed) and the scaled worlds of `bench/worlds.py`
(the dense history x0.7 and x1.6, carriers renamed), the same trace is replayed by `forewarn replay` and
by `baseline_rules.py` (plain rules, no learning: the floor), both scored by `score_replay.py`, and
printed side by side. The engine dominates the floor in a world when it is at least as good on recall,
precision, early recall and median lead, and clears the issue's bars (recall ≥ 0.99, precision ≥ 0.95).
The last line says in how many worlds it does. Nothing is asserted: `make bench` reports.

The seed defaults to one the detection was not tuned on; two replays run at a time (the machine's cores).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.worlds import transform

TOOLS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tools"
SEED = int(os.environ.get("BENCH_FLOOR_SEED", "303"))
DAYS = os.environ.get("BENCH_FLOOR_DAYS", "30")
# The figures compared, and whether more is better (all four are).
FIGURES = ("recall", "precision", "early_recall", "median_lead_h")
BARS = {"recall": 0.99, "precision": 0.95}


@dataclass(frozen=True)
class World:
    name: str
    kind: str  # make_scenario.py --world
    factor: float | None = None  # bench/worlds.py scaling of the same history


WORLDS = (
    World("dense", "dense"),
    World("sparse", "sparse"),
    World("mixed", "mixed"),
    World("dense x0.7", "dense", 0.7),
    World("dense x1.6", "dense", 1.6),
)


def _run(*args: str) -> str:
    return subprocess.run([sys.executable, *args], check=True, capture_output=True, text=True).stdout


def _trace(world: World, tmp: Path) -> Path:
    made = _run(str(TOOLS / "make_scenario.py"), "--seed", str(SEED), "--days", DAYS, "--world", world.kind)
    if world.factor is not None:
        events = [json.loads(line) for line in made.splitlines() if line.strip()]
        made = "".join(json.dumps(event) + "\n" for event in transform(events, world.factor))
    path = tmp / f"trace-{world.name.replace(' ', '-')}.jsonl"
    path.write_text(made)
    return path


def _score(trace: Path, notices: Path) -> dict[str, Any]:
    scored: dict[str, Any] = json.loads(_run(str(TOOLS / "score_replay.py"), str(trace), str(notices), "--json"))
    return scored


def compare(world: World, tmp: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The engine's score and the floor's on one world's trace."""
    trace = _trace(world, tmp)
    engine_out, floor_out = trace.with_suffix(".engine.jsonl"), trace.with_suffix(".floor.jsonl")
    _run("-m", "engine.cli", "replay", str(trace), "--out", str(engine_out))
    floor_out.write_text(_run(str(TOOLS / "baseline_rules.py"), str(trace)))
    return _score(trace, engine_out), _score(trace, floor_out)


def dominates(engine: dict[str, Any], floor: dict[str, Any]) -> bool:
    def at_least(figure: str) -> bool:
        mine, theirs = engine.get(figure), floor.get(figure)
        return theirs is None or (mine is not None and mine >= theirs)

    bars = all((engine.get(figure) or 0) >= bar for figure, bar in BARS.items())
    return bars and all(at_least(figure) for figure in FIGURES)


def row(world: World, engine: dict[str, Any], floor: dict[str, Any]) -> str:
    def figures(score: dict[str, Any]) -> str:
        return (
            f"R {score.get('recall')} P {score.get('precision')} early {score.get('early_recall')}"
            f" lead {score.get('median_lead_h')} h"
        )

    verdict = "dominates" if dominates(engine, floor) else "does not dominate"
    return (
        f"world {world.name:<11} seed {SEED} {DAYS} d, {engine.get('late')} late of {engine.get('orders')}:"
        f" engine {figures(engine)} | floor {figures(floor)} | {verdict}"
        f" (engine dup {engine.get('duplicates')}, quiet {engine.get('quiet_violations')},"
        f" consent {engine.get('consent_violations')}, outage recall {engine.get('outage_recall')})"
    )


def main() -> None:
    won = 0
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=2) as pool:
        running = [pool.submit(compare, world, Path(tmp)) for world in WORLDS]
        for world, future in zip(WORLDS, running, strict=True):  # each row as soon as its world is scored
            engine, floor = future.result()
            won += dominates(engine, floor)
            print(row(world, engine, floor), flush=True)
    print(f"worlds: the engine dominates the floor in {won} of {len(WORLDS)} worlds")


if __name__ == "__main__":
    main()
