"""A local Twilio-compatible server: the real twilio client talks to it through the base URL."""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from engine.clock import Clock, SystemClock

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-auth-token"
_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-fA-F]{32})/Messages\.json$")


@dataclass(frozen=True)
class Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedRequest:
    account_sid: str
    form: dict[str, str]


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    """Twilio's legacy error body, which the client turns into TwilioRestException."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class FakeTwilio:
    """State shared by the request handlers: credentials, recorded requests, scripted replies."""

    def __init__(self, account_sid: str, auth_token: str, clock: Clock) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.clock = clock
        self.requests: list[RecordedRequest] = []
        self.base_url = ""
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()

    def reply_next(self, status: int, body: dict[str, Any], *, headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self._script.append(Scripted(status, body, headers or {}))

    def rate_limit_next(self, *, retry_after: int = 30) -> None:
        self.reply_next(429, twilio_error(429, 20429, "Too Many Requests"), headers={"Retry-After": str(retry_after)})

    def server_error_next(self) -> None:
        self.reply_next(500, twilio_error(500, 20500, "Internal Server Error"))

    def unsubscribed_next(self) -> None:
        self.reply_next(400, twilio_error(400, 21610, "Attempt to send to unsubscribed recipient"))

    def handle(self, path: str, authorization: str | None, body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Answer one POST as Twilio would: (status, JSON body, extra headers)."""
        match = _MESSAGES_PATH.match(path)
        if match is None:
            return 404, twilio_error(404, 20404, f"The requested resource {path} was not found"), {}
        if not self._authorized(authorization) or match["sid"] != self.account_sid:
            return (
                401,
                twilio_error(401, 20003, "Authenticate"),
                {"WWW-Authenticate": 'Basic realm="Twilio API"'},
            )
        form = {key: values[-1] for key, values in parse_qs(body.decode("utf-8")).items()}
        with self._lock:
            self.requests.append(RecordedRequest(match["sid"], form))
            scripted = self._script.popleft() if self._script else None
        if scripted is not None:
            return scripted.status, scripted.body, scripted.headers
        missing = _missing_parameter(form)
        if missing is not None:
            return 400, missing, {}
        return 201, self._message_resource(form), {}

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header.removeprefix("Basic ")).decode("utf-8")
        except ValueError:
            return False
        return secrets.compare_digest(decoded, f"{self.account_sid}:{self.auth_token}")

    def _message_resource(self, form: dict[str, str]) -> dict[str, Any]:
        sid = "SM" + secrets.token_hex(16)
        created = format_datetime(self.clock.now(), usegmt=True)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form["Body"],
            "date_created": created,
            "date_sent": None,
            "date_updated": created,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",  # the fake does not count segments; nothing here relies on it
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if "MessagingServiceSid" in form else "queued",
            "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
            "to": form["To"],
            "uri": uri,
        }


def _missing_parameter(form: dict[str, str]) -> dict[str, Any] | None:
    if not form.get("To"):
        return twilio_error(400, 21604, "A 'To' phone number is required.")
    if not (form.get("From") or form.get("MessagingServiceSid")):
        return twilio_error(400, 21603, "A 'From' phone number is required.")
    if not form.get("Body"):
        return twilio_error(400, 21602, "Message body is required.")
    return None


def _handler_for(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so the client's connection pool is exercised

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status, payload, headers = fake.handle(self.path, self.headers.get("Authorization"), body)
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: request lines would clutter test output."""

    return Handler


@contextmanager
def running_fake_twilio(
    *, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN, clock: Clock | None = None
) -> Iterator[FakeTwilio]:
    """Serve on a free port of 127.0.0.1 until the block ends; `fake.base_url` is where to point."""
    fake = FakeTwilio(account_sid, auth_token, clock or SystemClock())
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    server.daemon_threads = True
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
