"""Attacks and bad input against a real `forewarn serve` (logging at DEBUG, uvicorn's access log on): no 500 on
any input, and no personal data or token in any log line. Development secrets are refused in production."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from support import builders
from support.smtp_server import free_port
from support.workers import wait_until

from engine.config import Settings
from engine.preferences.unsubscribe import make_token

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]
NAME, EMAIL, PHONE, PRODUCT = "Zephyrine Quaxley", "zephyrine.quaxley@example.com", "+5511912345678", "Quokka teapot"


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ValidationError, match="FOREWARN_SECRET_KEY"):
        Settings(env="production", _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="FOREWARN_WEBHOOK_SECRET_EVENTS"):
        Settings(env="production", secret_key="k" * 40, webhook_secret_events=builders.DEV_SECRET, _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="FOREWARN_AUDIT_KEY"):
        Settings(env="production", secret_key="k" * 40, _env_file=None)  # type: ignore[call-arg]
    fine = Settings(env="production", secret_key="k" * 40, audit_key="a" * 40, api_token="t" * 30, _env_file=None)  # type: ignore[call-arg]
    assert fine.env == "production"


def test_no_input_gives_a_500_and_no_log_line_carries_personal_data(tmp_path: Path) -> None:
    port = free_port()
    secret_key = "a-test-secret-key-that-is-long-enough-0123456789"
    env = {
        **os.environ,
        "FOREWARN_DATABASE_URL": f"sqlite:///{tmp_path / 'forewarn.db'}",
        "FOREWARN_BROKER_URL": "",
        "FOREWARN_API_TOKEN": "logs-test-token",
        "FOREWARN_SECRET_KEY": secret_key,
        "FOREWARN_WEBHOOK_SECRET_EVENTS": builders.SECRET,
        "FOREWARN_OUTBOX_DIR": str(tmp_path / "outbox"),
        "FOREWARN_SMS_DIR": str(tmp_path / "sms"),
        "FOREWARN_LOG_LEVEL": "DEBUG",
        "FOREWARN_SCHEDULER_INTERVAL": "1s",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
        )
    base = f"http://127.0.0.1:{port}"
    statuses: dict[str, int] = {}
    try:
        wait_until(lambda: _answers(f"{base}/healthz"), what="forewarn serve to answer", timeout=60)
        now = datetime.now(UTC)

        def post(label: str, raw: object) -> None:
            body = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
            signed, headers = builders.signed(body, now=now)
            statuses[label] = httpx.post(f"{base}/webhooks/events", content=signed, headers=headers).status_code

        customer = builders.customer_upserted(now, name=NAME, email=EMAIL, phone=PHONE, channels=["email", "sms"])
        order = builders.order_created(now, promised_in=timedelta(days=2), lines=[{"name": PRODUCT}])
        damaged = builders.shipment(now, "exception", exception="damaged")
        post("story", [customer, order, damaged])
        wait_until(lambda: any((tmp_path / "outbox").glob("*.eml")), what="the warning email in the outbox")

        digits = json.dumps(builders.customer_upserted(now))[:-1].encode() + b', "n": ' + b"9" * 5000 + b"}"
        post("5000-digit number", digits)
        deep: dict[str, object] = builders.customer_upserted(now)
        nest = deep
        for _ in range(300):
            nest["k"] = {}
            nest = nest["k"]  # type: ignore[assignment]
        post("300-deep JSON", deep)
        late = builders.order_created(now, order_id="A9999")
        late["order"]["promised_by"] = "9999-12-31T23:59:59-05:00"
        post("year 9999", late)
        post("two addresses", builders.customer_upserted(now, cid="C2", email="victim@example.com, evil@attacker.test"))
        token = make_token(Settings(secret_key=secret_key, _env_file=None), "C1")  # type: ignore[call-arg]
        for method in ("get", "post"):
            statuses[f"{method} unsubscribe"] = getattr(httpx, method)(f"{base}/unsubscribe/{token}").status_code
        statuses["forged unsubscribe"] = httpx.post(f"{base}/unsubscribe/%C3%90.%C2%89").status_code
        auth = {"Authorization": "Bearer logs-test-token"}
        statuses["id > 2^31"] = httpx.post(f"{base}/api/approvals/4294967296/approve", headers=auth).status_code
        statuses["cursor > 2^63"] = httpx.get(f"{base}/api/notices?cursor={2**64}", headers=auth).status_code
        time.sleep(2.5)  # a couple of scheduler ticks over the stored events
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert statuses["story"] == 202
    assert statuses["get unsubscribe"] == 200 and statuses["post unsubscribe"] == 200
    bad = {k: v for k, v in statuses.items() if v >= 500}
    assert bad == {}
    assert all(statuses[k] == 400 for k in ("5000-digit number", "300-deep JSON", "year 9999", "two addresses"))
    output = log_path.read_text()
    assert "/unsubscribe/" in output  # the access log was on…
    leaks = [
        s for s in (NAME, "Zephyrine", "Quaxley", EMAIL, PHONE, PHONE[3:], PRODUCT, token, secret_key) if s in output
    ]
    assert leaks == [], [line for line in output.splitlines() if any(s in line for s in leaks)][:5]
    assert "Traceback" not in output


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
