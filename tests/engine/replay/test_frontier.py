"""What the engine's probabilities were worth: the reliability table and the threshold sweep of a replay."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support import paths

from engine.detection.judgements import Judgement
from engine.replay.frontier import Outcome, reliability, sweep


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_")}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
PROMISE = T0 + timedelta(days=3)


def judged(order_id: str, hours: float, p: float) -> Judgement:
    return Judgement(order_id, T0 + timedelta(hours=hours), p)


def test_the_reliability_table_counts_how_many_of_each_stated_chance_were_late() -> None:
    truth = {f"L{i}": Outcome(PROMISE, True, False) for i in range(3)} | {
        f"K{i}": Outcome(PROMISE, False, False) for i in range(7)
    }
    judgements = [judged(o, 10, 0.82) for o in truth]  # ten orders said 0.82: three were late
    judgements += [judged("L0", 60, 0.99), judged("K0", 100, 1.0)]  # K0's is after the promise: no forecast
    judgements += [judged("unknown", 10, 0.5)]  # canceled or never promised: no outcome, not counted
    table = {round(b.low, 1): b for b in reliability(judgements, truth)}
    assert (table[0.8].judgements, table[0.8].orders, table[0.8].late_share) == (10, 10, 0.3)
    assert (table[0.9].judgements, table[0.9].late_share) == (1, 1.0)
    assert sum(b.judgements for b in table.values()) == 11 and table[0.5].late_share is None


def test_the_sweep_decides_each_threshold_from_the_recorded_chances() -> None:
    truth = {
        "late-early": Outcome(PROMISE, True, False),
        "late-rule": Outcome(PROMISE, True, False),
        "on-time": Outcome(PROMISE, False, False),
        "trouble": Outcome(PROMISE, False, True),
    }
    judgements = [
        judged("late-early", 6, 0.6),
        judged("late-early", 30, 0.97),
        judged("on-time", 12, 0.75),
        judged("trouble", 12, 0.9),
    ]
    rules = {"late-rule": PROMISE - timedelta(hours=16)}  # the last call: warned at every threshold
    low, mid, high = sweep(judgements, rules, truth, [0.5, 0.8, 0.99])
    assert (low.warned, low.precision, low.recall, low.early_recall) == (4, 0.75, 1.0, 0.5)
    assert low.median_lead_h == (66 + 16) / 2  # warned at 6 h of a 72 h wait, and 16 h before
    assert (mid.warned, mid.precision, mid.early_recall, mid.median_lead_h) == (3, 1.0, 0.5, (42 + 16) / 2)
    assert (high.warned, high.recall, high.early_recall, high.precision) == (1, 0.5, 0.0, 1.0)


def test_replay_sweep_prints_the_frontier_and_agrees_with_the_scorer(tmp_path: Path) -> None:
    made = run(
        str(paths.TOOLS / "make_scenario.py"),
        *("--seed", "11", "--customers", "60", "--days", "6", "--orders-per-day", "25"),
        cwd=tmp_path,
    )
    trace, out = tmp_path / "trace.jsonl", tmp_path / "notices.jsonl"
    trace.write_text(made.stdout)
    done = run("-m", "engine.cli", "replay", str(trace), "--out", str(out), "--sweep", "0.5,1.01", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "reliability (forecasts before the promise)" in done.stdout
    assert len(re.findall(r"^  \[\d\.\d, \d\.\d[)\]] ", done.stdout, re.M)) == 10
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines() if re.match(r"^  [01]\.\d", line)}
    scored = run(str(paths.TOOLS / "score_replay.py"), str(trace), str(out), "--json", cwd=tmp_path)
    score = json.loads(scored.stdout)
    # Above every chance the engine can state, the sweep's decision is the rules' alone: the notices written.
    warned, recall, early, precision, lead = rows["1.01"]
    assert int(warned) == score["warned"] and score["warned"] > 0
    assert (float(recall), float(early), float(precision)) == (
        score["recall"],
        score["early_recall"],
        score["precision"],
    )
    assert float(lead) == score["median_lead_h"]
    assert int(rows["0.5"][0]) >= int(warned)
