"""No warning or follow-up in a replay states something false about its order or incident.

A short `make_scenario` trace (lost parcels, carrier exceptions, an outage that gets worse, then better) runs
through `forewarn replay`; every notice it would send is read against the trace's truth at the moment the
notice goes out (`send_at`), in the customer's language:

- "good news / moving again" only while the parcel really moves, never while it is lost or held;
- a parcel is called lost only once the carrier said so;
- "thank you for your patience while it was delayed" only when it arrived after the promised day, and
  "on time after all" only when it did not;
- "arrived today" only on the customer's calendar day of the delivery;
- no warning goes out after the parcel was delivered;
- an outage email's subject names the severity the status page shows at that moment;
- no follow-up's subject is "Re:" the first one's; no message claims a person is on it unless the
  engine opened a care task for it (a stalled, lost or damaged parcel, or a third problem in 30 days).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from support import paths
from support.words import LOST, MOVING_AGAIN, ON_TIME_AFTER_ALL, PATIENCE_WHILE_DELAYED, TEAM_ON_IT, TODAY, says

WARNING_STAGES = ("initial", "update")
# The words of each outage severity in an email subject, per language.
SEVERITY = {
    "en": {"degraded_performance": "slow", "partial_outage": "not working for some", "major_outage": "down"},
    "pt-BR": {"degraded_performance": "lentidão", "partial_outage": "falhas para alguns", "major_outage": "fora do ar"},
    "es": {"degraded_performance": "lento", "partial_outage": "fallos para algunos", "major_outage": "caído"},
    "de": {"degraded_performance": "langsam", "partial_outage": "für einige", "major_outage": "ausgefallen"},
    "ja": {"degraded_performance": "遅く", "partial_outage": "一部", "major_outage": "ご利用いただけない状態"},
}
ARRIVED = {"en": "arrived", "pt-BR": "entregue", "es": "entreg", "de": "zugestellt", "ja": "完了"}


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class Order:
    customer: str
    promised: datetime
    scans: list[tuple[datetime, str, str | None]] = field(default_factory=list)  # (known at, status, exception)
    delivered: datetime | None = None

    def status_at(self, moment: datetime) -> tuple[str | None, bool]:
        """The parcel's status at `moment`, and whether the carrier had reported it lost by then."""
        known = [scan for scan in self.scans if scan[0] <= moment]
        status = known[-1][1] if known else None
        return status, any(s == "lost" for _, s, _ in known)


@dataclass
class Truth:
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    incidents: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)


def read_truth(trace: Path) -> Truth:
    truth = Truth()
    seen: set[str] = set()
    for line in trace.read_text().splitlines():
        event = json.loads(line)
        if event["id"] in seen:
            continue
        seen.add(event["id"])
        known = at(event.get("received_at") or event["occurred_at"])
        kind = event["type"]
        if kind == "customer.upserted":
            truth.customers[event["customer"]["id"]] = event["customer"]
        elif kind == "order.created":
            order = event["order"]
            truth.orders[order["id"]] = Order(order["customer"]["id"], at(order["promised_by"]))
        elif kind == "shipment.updated":
            shipment = event["shipment"]
            order = truth.orders[shipment["order_id"]]
            order.scans.append((known, shipment["status"], shipment.get("exception")))
            order.scans.sort(key=lambda scan: scan[0])
            if shipment["status"] == "delivered" and order.delivered is None:
                order.delivered = at(event["occurred_at"])
        elif kind == "service.status":
            service = event["service"]
            if service.get("incident_id"):
                truth.incidents.setdefault(service["incident_id"], []).append((known, service["status"]))
    return truth


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_")}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Truth, list[dict[str, Any]]]:
    where = tmp_path_factory.mktemp("truth")
    made = run(
        str(paths.TOOLS / "make_scenario.py"),
        *("--seed", "31", "--customers", "120", "--days", "8", "--orders-per-day", "40"),
        cwd=where,
    )
    assert made.returncode == 0, made.stderr
    trace = where / "trace.jsonl"
    trace.write_text(made.stdout)
    out = where / "notices.jsonl"
    done = run("-m", "engine.cli", "replay", str(trace), "--out", str(out), cwd=where)
    assert done.returncode == 0, done.stderr
    return read_truth(trace), [json.loads(line) for line in out.read_text().splitlines()]


def words(notice: dict[str, Any]) -> str:
    return (notice["subject"] or "") + "\n" + notice["body"].split("\n--\n")[0]


def locale_of(truth: Truth, notice: dict[str, Any]) -> str:
    locale = truth.customers[notice["customer_id"]].get("locale", "en")
    return {"de-DE": "de", "ja-JP": "ja"}.get(locale, locale)


def local_day(moment: datetime, zone: str) -> Any:
    return moment.astimezone(ZoneInfo(zone)).date()


def test_the_trace_has_the_stories_this_check_is_about(replayed: tuple[Truth, list[dict[str, Any]]]) -> None:
    truth, notices = replayed
    assert any(order.status_at(max(s[0] for s in order.scans))[1] for order in truth.orders.values() if order.scans)
    assert {n["stage"] for n in notices} >= {"initial", "update", "resolved"}
    assert {n["situation"] for n in notices} >= {"shipment.exception", "service.disruption", "shipment.delayed"}
    assert {locale_of(truth, n) for n in notices} >= {"en", "pt-BR", "de", "ja"}


def care_task_opened(notice: dict[str, Any], order: Order, notices: list[dict[str, Any]]) -> bool:
    """Whether the engine has a person on it (docs/care.md): a stalled, lost or damaged parcel, or the
    customer's third problem within 30 days."""
    sent = at(notice["send_at"])
    known = [(status, exception) for moment, status, exception in order.scans if moment <= sent]
    if notice["situation"] == "shipment.stalled" or any(
        status == "lost" or exception in ("lost", "damaged") for status, exception in known
    ):
        return True
    recent = {
        n["order_id"]
        for n in notices
        if n["customer_id"] == notice["customer_id"]
        and n["order_id"]
        and n["stage"] in WARNING_STAGES
        and timedelta(0) <= sent - at(n["send_at"]) <= timedelta(days=30)
    }
    return len(recent) >= 3


def test_no_order_message_states_something_false(replayed: tuple[Truth, list[dict[str, Any]]]) -> None:
    truth, notices = replayed
    false: list[str] = []
    for notice in notices:
        if not notice["order_id"]:
            continue
        order, locale = truth.orders[notice["order_id"]], locale_of(truth, notice)
        zone = truth.customers[notice["customer_id"]]["timezone"]
        sent, text = at(notice["send_at"]), words(notice)
        status, was_lost = order.status_at(sent)
        where = f"#{notice['notice_id']} {notice['situation']}/{notice['stage']} ({locale}, status {status})"
        if notice["stage"] in WARNING_STAGES:
            if status in ("lost", "returned", "exception") and says(text, MOVING_AGAIN[locale]):
                false.append(f"{where}: good news while the parcel is {status}: {text[:120]!r}")
            if not was_lost and says(text, LOST[locale]):
                false.append(f"{where}: called lost before the carrier said so")
            if order.delivered is not None and sent >= order.delivered:
                false.append(f"{where}: a warning after the parcel was delivered")
        if notice["stage"] == "resolved" and order.delivered is not None:
            late = local_day(order.delivered, zone) > local_day(order.promised, zone)
            if not late and says(text, PATIENCE_WHILE_DELAYED[locale]):
                false.append(f"{where}: 'patience while it was delayed' for a delivery on time")
            if late and says(text, ON_TIME_AFTER_ALL[locale]):
                false.append(f"{where}: 'on time after all' for a late delivery")
            arrived_today = f"{ARRIVED[locale]} {TODAY[locale]}" if locale != "ja" else f"{TODAY[locale]}"
            if says(notice["body"], arrived_today) and local_day(order.delivered, zone) != local_day(sent, zone):
                false.append(f"{where}: 'today' is not the day it arrived")
        if says(text, TEAM_ON_IT[locale]) and not care_task_opened(notice, order, notices):
            false.append(f"{where}: claims a person is on it, but no care task exists")
        if (notice["subject"] or "").startswith("Re:"):
            false.append(f"{where}: a follow-up repeating the first subject")
    assert false == [], "\n".join(false[:20])


def test_no_outage_message_states_a_severity_it_does_not_have(
    replayed: tuple[Truth, list[dict[str, Any]]],
) -> None:
    truth, notices = replayed
    false: list[str] = []
    for notice in notices:
        if notice["situation"] != "service.disruption" or notice["stage"] not in WARNING_STAGES:
            continue
        if notice["channel"] != "email":
            continue
        locale = locale_of(truth, notice)
        statuses = [s for known, s in truth.incidents[notice["incident_id"]] if known <= at(notice["send_at"])]
        current = statuses[-1]
        wanted = SEVERITY[locale][current]
        if wanted not in notice["subject"]:
            false.append(f"#{notice['notice_id']} ({locale}): status {current}, subject {notice['subject']!r}")
    assert false == [], "\n".join(false[:20])
