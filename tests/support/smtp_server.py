"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, recording what it receives."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Stage = Literal["rcpt", "data"]


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    def parsed(self) -> EmailMessage:
        """The message as a mail client would read it."""
        return BytesParser(policy=policy.default).parsebytes(self.raw)


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only this self-signed certificate."""
        return ssl.create_default_context(cafile=str(self.cert))


class RecordingHandler:
    """Accepts mail and keeps it; `fail_next` scripts refusals at RCPT or DATA."""

    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self.stall_seconds = 0.0
        self.delay_each = 0.0  # a slow relay: every message waits this long before its 250
        self._script: deque[tuple[Stage, str]] = deque()
        self._lock = threading.Lock()

    def fail_next(self, reply: str, *, times: int = 1, stage: Stage = "data") -> None:
        with self._lock:
            self._script.extend([(stage, reply)] * times)

    def _scripted(self, stage: Stage) -> str | None:
        with self._lock:
            if self._script and self._script[0][0] == stage:
                return self._script.popleft()[1]
        return None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self._scripted("rcpt")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = self._scripted("data")
        if reply:
            return reply
        raw = envelope.original_content or b""
        with self._lock:
            self.messages.append(ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), raw))
            stall, self.stall_seconds = self.stall_seconds, 0.0
        if stall or self.delay_each:
            await asyncio.sleep(stall + self.delay_each)
        return "250 2.0.0 Message accepted for delivery"


class _CountingController(Controller):
    """aiosmtpd calls `factory()` once per connection, so counting there counts connections."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections = 0
        self.servers: list[SMTP] = []

    def factory(self) -> SMTP:
        server = super().factory()  # type: ignore[no-untyped-call]
        self.connections += 1
        self.servers.append(server)
        return cast(SMTP, server)


class SmtpTestServer:
    def __init__(self, controller: _CountingController, handler: RecordingHandler, scheme: str) -> None:
        self._controller = controller
        self.handler = handler
        self.host: str = controller.hostname
        self.port: int = controller.port
        self.scheme = scheme

    @property
    def messages(self) -> list[ReceivedMail]:
        return self.handler.messages

    @property
    def connections(self) -> int:
        """Client connections opened since the server started."""
        return self._controller.connections

    def url(self, *, user: str | None = None, password: str | None = None, starttls: bool = False) -> str:
        auth = f"{quote(user, safe='')}:{quote(password or '', safe='')}@" if user is not None else ""
        query = "?starttls=1" if starttls else ""
        return f"{self.scheme}://{auth}{self.host}:{self.port}{query}"

    def fail_next(self, reply: str, *, times: int = 1, stage: Stage = "data") -> None:
        """Answer the next `times` messages at `stage` with `reply`, e.g. "451 4.3.0 Try later"."""
        self.handler.fail_next(reply, times=times, stage=stage)

    def stall_next(self, seconds: float) -> None:
        """Keep the next message but hold back the 250 reply, like an overloaded relay."""
        self.handler.stall_seconds = seconds

    def drop_connections(self) -> None:
        """Close every open client connection from the server side, as an idle timeout would."""

        async def close_all() -> None:
            for server in self._controller.servers:
                if server.transport is not None:
                    server.transport.close()
            await asyncio.sleep(0.05)

        asyncio.run_coroutine_threadsafe(close_all(), self._controller.loop).result(timeout=5)


@contextmanager
def running_smtp_server(
    *,
    auth: tuple[str, str] | None = None,
    tls: TlsFiles | None = None,
    implicit_tls: bool = False,
    port: int | None = None,
) -> Iterator[SmtpTestServer]:
    """Start a server on `port` (default: a free one); with `tls`, STARTTLS (or implicit TLS) is offered
    and required."""
    handler = RecordingHandler()
    options: dict[str, Any] = {}
    if auth is not None:
        options["authenticator"] = _authenticator(*auth)
        # Without TLS, AUTH must still be offered; with STARTTLS, require it like a real relay would.
        options["auth_require_tls"] = tls is not None and not implicit_tls
        options["auth_required"] = tls is not None and not implicit_tls
    if tls is not None and implicit_tls:
        options["ssl_context"] = tls.server_context()
    elif tls is not None:
        options["tls_context"] = tls.server_context()
        options["require_starttls"] = True
    controller = _CountingController(
        handler, hostname="127.0.0.1", port=port or free_port(), server_hostname="localhost", **options
    )
    controller.start()
    # The controller's own readiness probe opened a connection; it is not a client's.
    controller.connections = 0
    controller.servers.clear()
    try:
        yield SmtpTestServer(controller, handler, "smtps" if implicit_tls else "smtp")
    finally:
        controller.stop()


def make_tls_files(directory: Path) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        _write_with_cryptography(cert, key)
    except ImportError:
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=localhost"),
                *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
                *("-keyout", str(key), "-out", str(cert)),
                *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            ],
            check=True,
            capture_output=True,
        )
    return TlsFiles(cert, key)


def _write_with_cryptography(cert_path: Path, key_path: Path) -> None:
    import ipaddress
    from datetime import UTC, datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # Fixed, wide validity: tests must not read the wall clock, and this cert never leaves the test.
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2100, 1, 1, tzinfo=UTC))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _authenticator(user: str, password: str) -> Any:
    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            user.encode(),
            password.encode(),
        )
        # handled=False lets aiosmtpd answer a failure with the standard 535.
        return AuthResult(success=ok, handled=False)

    return authenticate


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
