"""Signed canonical webhooks accepted per second by `forewarn serve`, against a bare FastAPI endpoint that
only reads the body, under the same uvicorn settings, from the same load generator.

    python -m bench.webhooks        (PostgreSQL + Redis from FOREWARN_BENCH_POSTGRES_URL / _REDIS_URL)

Forewarn's side is what a feed meets in production: `forewarn serve` on PostgreSQL with a Redis broker
(so no worker shares its process), each request verified (Standard Webhooks HMAC over the raw body),
parsed, stored once, audited in the chain and its `events.apply` job queued, answered 202. The bare
side is `uvicorn.run` of an app whose one route awaits the body and answers 202. Both get the same
`BENCH_WEBHOOKS` distinct signed events over `BENCH_WEBHOOK_CONNECTIONS` keep-alive connections, after a
warm-up; the bare endpoint runs before and after Forewarn and the ratio is against their mean.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from bench.common import free_port, fresh_database, scratch_env
from bench.load import Request, Result, run
from integrations.feeds.standard_webhooks import sign

N = int(os.environ.get("BENCH_WEBHOOKS", "3000"))
CONNECTIONS = int(os.environ.get("BENCH_WEBHOOK_CONNECTIONS", "16"))
WARM_UP = 200
SECRET = "whsec_YmVuY2gtb25seS13ZWJob29rLXNlY3JldC0xMjM0NQ=="  # noqa: S105 - the bench signs its own requests
DATABASE = os.environ.get("BENCH_WEBHOOKS_DATABASE", "forewarn_bench_webhooks")
QUEUE = "forewarn-bench-webhooks"

# The same call `forewarn serve` makes (engine/cli.py), around an app that reads the body and answers.
BARE = """
import sys, uvicorn
from fastapi import FastAPI, Request, Response
app = FastAPI()
@app.post("/webhooks/{source}")
async def receive(source: str, request: Request) -> Response:
    await request.body()
    return Response(status_code=202)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@dataclass(frozen=True)
class Figures:
    bare_before: Result
    forewarn: Result
    bare_after: Result

    @property
    def bare(self) -> float:
        return (self.bare_before.per_second + self.bare_after.per_second) / 2

    @property
    def ratio(self) -> float:
        return self.forewarn.per_second / self.bare


def requests(count: int, prefix: str) -> list[Request]:
    """`count` distinct shipment scans, each signed as its sender would."""
    now = datetime.now(UTC)
    stamp = int(now.timestamp())
    made = []
    for i in range(count):
        body = json.dumps(
            {
                "id": f"{prefix}-{i}",
                "type": "shipment.updated",
                "occurred_at": now.isoformat().replace("+00:00", "Z"),
                "shipment": {
                    "order_id": f"B{i % 500}",
                    "carrier": "ups",
                    "tracking_number": f"1ZB{i}",
                    "status": "in_transit",
                },
            }
        ).encode()
        msg_id = f"msg-{prefix}-{i}"
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(SECRET, msg_id=msg_id, timestamp=stamp, body=body),
            "content-type": "application/json",
        }
        made.append(Request("/webhooks/events", headers, body))
    return made


@contextmanager
def server(command: list[str], port: int, env: dict[str, str]) -> Iterator[None]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None:
                    raise SystemExit(f"server exited: {process.stderr.read() if process.stderr else ''}") from None
                time.sleep(0.2)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def timed(port: int, prefix: str) -> Result:
    run("127.0.0.1", port, requests(WARM_UP, f"{prefix}-warm"), connections=CONNECTIONS)
    result = run("127.0.0.1", port, requests(N, prefix), connections=CONNECTIONS)
    if set(result.statuses) != {202}:
        raise SystemExit(f"not every webhook was accepted: {dict(result.statuses)}")
    return result


def bare_endpoint(tag: str) -> Result:
    port = free_port()
    with server([sys.executable, "-c", BARE, str(port)], port, dict(os.environ)):
        return timed(port, f"bare-{tag}")


def forewarn_serve(database_url: str, redis_url: str) -> Result:
    port = free_port()
    with scratch_env(database_url, redis_url, QUEUE, FOREWARN_WEBHOOK_SECRET_EVENTS=SECRET) as (_, env):
        command = [sys.executable, "-m", "engine.cli", "serve", "--port", str(port)]
        with server(command, port, env):
            return timed(port, "forewarn")


def measure() -> Figures:
    database_url = fresh_database(
        os.environ.get("FOREWARN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"), DATABASE
    )
    redis_url = os.environ.get("FOREWARN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    before = bare_endpoint("before")
    forewarn = forewarn_serve(database_url, redis_url)
    after = bare_endpoint("after")
    _flush(redis_url)
    return Figures(before, forewarn, after)


def _flush(redis_url: str) -> None:
    """The events.apply jobs nobody ran (no worker in this bench) leave the broker."""
    from engine.wiring import make_broker

    broker = make_broker(redis_url, namespace=QUEUE)
    broker.flush_all()
    broker.close()


def main() -> None:
    figures = measure()
    print(
        f"webhooks: bare FastAPI {figures.bare_before.per_second:,.0f}/s before, {figures.bare_after.per_second:,.0f}/s"
        f" after; forewarn serve {figures.forewarn.per_second:,.0f}/s ({N} signed events, {CONNECTIONS} connections)"
    )
    print(f"  ratio forewarn / bare: {figures.ratio:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
