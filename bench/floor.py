"""The engine against the floor, world by world: `python -m bench.floor`.

Each world `make_scenario.py` makes (dense, sparse, mixed), and the same histories scaled faster and
slower (bench/worlds.py), is replayed by the engine and answered by the plain rules (`baseline_rules.py`),
both scored by `score_replay.py`; one row per world, side by side. The engine dominates the floor in a
world when it catches the late orders (recall >= 0.99), is right at least as often as the floor and at
least 95% of the time, and warns early at least as often and with at least as much lead.

    BENCH_SEEDS=101,202 BENCH_DAYS=30 BENCH_KINDS=dense,sparse,mixed BENCH_WORLDS=0.7,1.6 BENCH_JOBS=2
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
COLUMNS = ("recall", "early_recall", "precision", "median_lead_h")
MIN_RECALL, MIN_PRECISION = 0.99, 0.95


@dataclass(frozen=True)
class World:
    kind: str
    seed: int
    factor: float

    @property
    def name(self) -> str:
        return f"{self.kind} seed={self.seed}" + (f" x{self.factor}" if self.factor != 1.0 else "")


def _python(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_")}
    return subprocess.run([sys.executable, *args], check=True, capture_output=True, text=True, env=env).stdout


def _trace(world: World, days: str, tmp: Path) -> Path:
    made = _python(str(TOOLS / "make_scenario.py"), "--seed", str(world.seed), "--days", days, "--world", world.kind)
    path = tmp / f"{world.kind}-{world.seed}-x{world.factor}.jsonl"
    if world.factor == 1.0:
        path.write_text(made)
    else:
        events = [json.loads(line) for line in made.splitlines() if line.strip()]
        path.write_text("".join(json.dumps(e) + "\n" for e in transform(events, world.factor)))
    return path


def _score(trace: Path, notices: Path) -> dict[str, Any]:
    score: dict[str, Any] = json.loads(_python(str(TOOLS / "score_replay.py"), str(trace), str(notices), "--json"))
    return score


def measure(world: World, days: str, tmp: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    trace = _trace(world, days, tmp)
    floor, engine = trace.with_suffix(".floor"), trace.with_suffix(".engine")
    floor.write_text(_python(str(TOOLS / "baseline_rules.py"), str(trace)))
    _python("-m", "engine.cli", "replay", str(trace), "--out", str(engine))
    return _score(trace, engine), _score(trace, floor)


def dominates(engine: dict[str, Any], floor: dict[str, Any]) -> bool:
    def at_least(key: str, bar: float | None) -> bool:
        value = engine.get(key)
        return value is not None and (bar is None or value >= bar)

    return (
        at_least("recall", MIN_RECALL)
        and at_least("precision", max(MIN_PRECISION, floor.get("precision") or 0.0))
        and at_least("early_recall", floor.get("early_recall"))
        and at_least("median_lead_h", floor.get("median_lead_h"))
    )


def row(world: World, engine: dict[str, Any], floor: dict[str, Any]) -> str:
    cells = "  ".join(f"{engine.get(k)!s:>6} {floor.get(k)!s:>6}" for k in COLUMNS)
    return f"{world.name:24} {cells}  {'yes' if dominates(engine, floor) else 'no'}"


def main() -> None:
    seeds = [int(s) for s in os.environ.get("BENCH_SEEDS", "7").split(",")]
    days = os.environ.get("BENCH_DAYS", "30")
    kinds = [k for k in os.environ.get("BENCH_KINDS", "dense,sparse,mixed").split(",") if k.strip()]
    factors = [1.0, *(float(f) for f in os.environ.get("BENCH_WORLDS", "0.7,1.6").split(",") if f.strip())]
    worlds = [World(kind, seed, factor) for kind in kinds for seed in seeds for factor in factors]
    header = "  ".join(f"{k[:6]:>6} {'floor':>6}" for k in COLUMNS)
    print(f"{'world (engine, floor)':24} {header}  dominates")
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(int(os.environ.get("BENCH_JOBS", "2"))) as pool:
        results = list(pool.map(lambda w: measure(w, days, Path(tmp)), worlds))
    won = 0
    for world, (engine, floor) in zip(worlds, results, strict=True):
        print(row(world, engine, floor), flush=True)
        won += dominates(engine, floor)
    print(f"engine dominates the floor in {won} of {len(worlds)} worlds")


if __name__ == "__main__":
    main()
