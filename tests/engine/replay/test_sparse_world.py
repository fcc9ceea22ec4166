"""Back-test in a world where carriers say only "handed over" and "delivered": the engine must not cry
wolf more than the plain rules (`baseline_rules.py`, the floor) and must still catch what they catch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from support import paths

TOOLS = paths.TOOLS


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_")}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=500)


def scored(trace: Path, notices: Path, cwd: Path) -> dict[str, Any]:
    done = run(str(TOOLS / "score_replay.py"), str(trace), str(notices), "--json", cwd=cwd)
    assert done.returncode == 0, done.stderr
    score: dict[str, Any] = json.loads(done.stdout)
    return score


def test_in_a_sparse_world_the_engine_is_at_least_as_right_as_the_plain_rules(tmp_path: Path) -> None:
    made = run(
        str(TOOLS / "make_scenario.py"),
        *("--world", "sparse", "--seed", "23", "--customers", "80", "--days", "16", "--orders-per-day", "14"),
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    trace = tmp_path / "trace.jsonl"
    trace.write_text(made.stdout)
    floor = run(str(TOOLS / "baseline_rules.py"), str(trace), cwd=tmp_path)
    assert floor.returncode == 0, floor.stderr
    (tmp_path / "floor.jsonl").write_text(floor.stdout)
    done = run("-m", "engine.cli", "replay", str(trace), "--out", str(tmp_path / "engine.jsonl"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr

    engine, plain = (
        scored(trace, tmp_path / "engine.jsonl", tmp_path),
        scored(trace, tmp_path / "floor.jsonl", tmp_path),
    )
    assert plain["late"] >= 5 and plain["warned"] > 0  # the world has late orders for both to find
    assert engine["precision"] >= plain["precision"], (engine, plain)
    assert engine["recall"] >= plain["recall"], (engine, plain)
    assert engine["early_recall"] >= plain["early_recall"], (engine, plain)
    assert engine["duplicates"] == 0 and engine["quiet_violations"] == 0 and engine["consent_violations"] == 0
