"""Another world for the back-test: carriers renamed, every order and shipment interval scaled.

    python -m bench.worlds TRACE.jsonl FACTOR > OTHER.jsonl

The engine is scored on real histories with other carriers and other timings; it must learn them from
the data it sees. Scaling every order and shipment moment's distance from the trace's first one by
FACTOR (0.7: a faster world with shorter promises and quicker carriers; 1.6: a slower one) and renaming
the carriers turns a `make_scenario.py` trace into such a history, with the truth the scorer reads
transformed the same way. Status-page events are left as they are (see `transform`).
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from typing import Any

_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
_CARRIERS = {"correios": "jadlog", "dhl": "ontrac", "fedex": "lasership", "ups": "purolator", "usps": "canadapost"}


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def transform(events: list[dict[str, Any]], factor: float) -> list[dict[str, Any]]:
    start = min(_instant(e.get("received_at") or e["occurred_at"]) for e in events)

    def visit(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: visit(item) for key, item in value.items()}
        if isinstance(value, list):
            return [visit(item) for item in value]
        if isinstance(value, str) and _INSTANT.match(value):
            moment = start + (_instant(value) - start) * factor
            return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if isinstance(value, str) and value in _CARRIERS:
            return _CARRIERS[value]
        return value

    # Status-page events keep their times: "other timings" is about orders and carriers, and stretching
    # a 7-minute blip past the 10-minute debounce would turn it into a real outage by the engine's rule
    # while the scorer (a fixed 15 minutes) still calls it a blip. Arrival order is restored after.
    moved = [event if event.get("type") == "service.status" else visit(event) for event in events]
    return sorted(moved, key=lambda e: _instant(e.get("received_at") or e["occurred_at"]))


def main() -> None:
    path, factor = sys.argv[1], float(sys.argv[2])
    with open(path, encoding="utf-8") as handle:
        events = [json.loads(line) for line in handle if line.strip()]
    for event in transform(events, factor):
        print(json.dumps(event))


if __name__ == "__main__":
    main()
