"""`forewarn serve` on the embedded default: SQLite, in-process worker and scheduler, file outbox."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from support import builders

from engine.clock import SystemClock


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_migrates_applies_and_delivers_in_process(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_")}
    env.update(
        {
            "FOREWARN_WEBHOOK_SECRET_EVENTS": builders.SECRET,
            "FOREWARN_API_TOKEN": "t",
            "FOREWARN_SCHEDULER_INTERVAL": "1s",
            "FOREWARN_LOG_LEVEL": "WARNING",
        }
    )
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        assert httpx.get(f"{base}/healthz").json()["database"] == "ok"
        now = SystemClock().now()
        events = [
            builders.customer_upserted(now, channels=["email"]),
            builders.order_created(now),
            builders.shipment(now, "exception", exception="customs"),
        ]
        body, headers = builders.signed(events, now=now)
        assert httpx.post(f"{base}/webhooks/events", content=body, headers=headers).status_code == 202
        outbox = tmp_path / "var" / "outbox"
        while time.monotonic() < deadline and not list(outbox.glob("*.eml")):
            time.sleep(0.2)
        [eml] = list(outbox.glob("*.eml"))
        assert b"customs" in eml.read_bytes().lower()
        sent = httpx.get(f"{base}/api/notices", params={"status": "sent"}, headers={"Authorization": "Bearer t"})
        assert len(sent.json()["items"]) == 1
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
