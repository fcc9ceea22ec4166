"""`make bench` keeps working: each benchmark runs end to end at a tiny size against the real services.

Timings are not asserted here (they belong to `make bench`); what is checked is that every benchmark
still runs against the current schema and code and reports its result line. A schema change once broke
the fan-out benchmark's seeding without any test noticing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.services import require

ROOT = Path(__file__).resolve().parents[2]


def _bench(module: str, tmp_path: Path, **sizes: str) -> str:
    postgres = require("FOREWARN_TEST_POSTGRES_URL")
    redis = require("FOREWARN_TEST_REDIS_URL").rsplit("/", 1)[0] + "/13"  # its own Redis db
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOREWARN_", "BENCH_"))}
    suffix = f"{os.getpid()}"
    env |= {
        "FOREWARN_BENCH_POSTGRES_URL": postgres,
        "FOREWARN_BENCH_REDIS_URL": redis,
        "BENCH_SCAN_DATABASE": f"forewarn_smoke_scan_{suffix}",
        "BENCH_SMTP_DATABASE": f"forewarn_smoke_smtp_{suffix}",
        "BENCH_FANOUT_DATABASE": f"forewarn_smoke_fanout_{suffix}",
        **sizes,
    }
    done = subprocess.run(
        [sys.executable, "-m", module], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


def test_replay_bench_replays_and_scores(tmp_path: Path) -> None:
    out = _bench("bench", tmp_path, BENCH_DAYS="2", BENCH_WORLDS="0.7")
    assert "replay seed=7 days=2:" in out
    assert "replay seed=7 days=2 world=x0.7:" in out
    assert out.count('"recall"') == 2


def test_scan_bench_finds_exactly_the_due_orders(tmp_path: Path) -> None:
    out = _bench("bench.scan", tmp_path, BENCH_OPEN_ORDERS="5000")
    assert "due query: 1000 of 5,000 open orders" in out


def test_smtp_rate_bench_compares_the_worker_with_smtplib(tmp_path: Path) -> None:
    out = _bench("bench.smtp_rate", tmp_path, BENCH_EMAILS="40")
    assert "SUMMARY" in out


@pytest.mark.parametrize("customers", ["400"])
def test_fanout_bench_fans_out_drains_and_resolves(tmp_path: Path, customers: str) -> None:
    out = _bench("bench.fanout", tmp_path, BENCH_FANOUT_CUSTOMERS=customers, BENCH_FANOUT_DRAIN_SECONDS="60")
    assert "fan-out: 400 customers told" in out
    assert "audit verify: ok" in out
    assert "resolution: every thread closed" in out
    assert "SUMMARY fan-out 400 recipients" in out


def test_another_world_keeps_the_story_and_changes_carriers_and_timings() -> None:
    from bench.worlds import transform

    order_body = {"id": "A1", "placed_at": "2026-03-01T00:00:00Z", "promised_by": "2026-03-06T00:00:00Z"}
    scan_body = {"order_id": "A1", "carrier": "ups", "status": "delivered"}
    events = [
        {"id": "o", "type": "order.created", "occurred_at": "2026-03-01T00:00:00Z", "order": order_body},
        {
            "id": "s",
            "type": "shipment.updated",
            "occurred_at": "2026-03-03T00:00:00Z",
            "received_at": "2026-03-03T12:00:00Z",
            "shipment": scan_body,
        },
    ]
    order, scan = transform(events, 0.5)
    assert order["order"]["promised_by"] == "2026-03-03T12:00:00.000000Z"  # a 5-day promise becomes 2.5 days
    assert (scan["occurred_at"], scan["received_at"]) == ("2026-03-02T00:00:00.000000Z", "2026-03-02T06:00:00.000000Z")
    assert scan["shipment"]["carrier"] == "purolator" and scan["shipment"]["order_id"] == "A1"


def test_ratios_bench_reports_every_figure_and_the_targets_met(tmp_path: Path) -> None:
    out = _bench(
        "bench.ratios",
        tmp_path,
        BENCH_WEBHOOKS="200",
        BENCH_WEBHOOK_CONNECTIONS="4",
        BENCH_OUTAGE_CUSTOMERS="60",
        BENCH_WEBHOOKS_DATABASE=f"forewarn_smoke_webhooks_{os.getpid()}",
        BENCH_OUTAGE_DATABASE=f"forewarn_smoke_outage_{os.getpid()}",
    )
    assert "webhooks: forewarn serve" in out
    assert "60 messages at the sink" in out  # every customer told once, none twice
    assert "first SMTP byte: p50" in out
    assert out.strip().splitlines()[-1] in {f"bench: {n} of 2 targets met" for n in range(3)}
