"""Email over SMTP, reusing a small pool of open connections across sends and worker threads."""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from engine.clock import Clock
from engine.delivery.channel import OutboundMessage, SendResult
from engine.vocabulary import Channel
from integrations.channels.email_message import build_email, message_id_of, to_wire

log = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to connect, read from `smtp://[user:pass@]host:port[?starttls=1]` or `smtps://`."""

    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str = field(default="", repr=False)


def parse_smtp_url(url: str) -> SmtpTarget:
    """Read an SMTP URL; the error never repeats the URL, which may hold a password."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise ValueError(f"SMTP URL must start with smtp:// or smtps://, not {scheme or 'nothing'}://")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError("SMTP URL has an invalid port") from exc
    if not parts.hostname:
        raise ValueError("SMTP URL has no host")
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["0"])[-1].lower() in _TRUE
    implicit_tls = scheme == "smtps"
    if implicit_tls and starttls:
        raise ValueError("smtps:// is already encrypted; starttls=1 applies to smtp:// only")
    return SmtpTarget(
        host=parts.hostname,
        port=port or (465 if implicit_tls else 25),
        implicit_tls=implicit_tls,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password or ""),
    )


class SmtpChannel:
    """Sends through one SMTP relay; idle connections wait in a pool for the next send."""

    name = Channel.EMAIL
    provider = "smtp"

    def __init__(
        self,
        url: str,
        sender: str,
        reply_to: str | None,
        clock: Clock,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        pool_size: int = 4,
        local_hostname: str | None = None,
    ) -> None:
        self.target = parse_smtp_url(url)
        self.sender = sender
        self.reply_to = reply_to or None
        self.clock = clock
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.timeout = timeout
        self.pool_size = pool_size
        self.local_hostname = local_hostname
        self._envelope_from = parseaddr(sender)[1]
        self._idle: list[smtplib.SMTP] = []
        self._lock = threading.Lock()
        self._closed = False

    def send(self, message: OutboundMessage) -> SendResult:
        msg = build_email(message, sender=self.sender, reply_to=self.reply_to, date=self.clock.now())
        try:
            self._deliver(msg, message.recipient)
        except (smtplib.SMTPException, OSError) as exc:
            return result_for(exc, message.recipient)
        return SendResult.sent(provider_id=message_id_of(msg))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            _quit_quietly(conn)

    def _deliver(self, msg: EmailMessage, recipient: str) -> None:
        conn, reused = self._checkout()
        while True:
            try:
                conn.sendmail(self._envelope_from, [recipient], to_wire(msg))
            except BaseException as exc:
                self._discard(conn)
                if not (reused and _went_stale(exc)):
                    raise
                # The server dropped a pooled connection while it sat idle; one fresh connection settles it.
                log.debug("smtp: pooled connection to %s went stale, reconnecting", self.target.host)
                conn, reused = self._connect(), False
                continue
            self._checkin(conn)
            return

    def _checkout(self) -> tuple[smtplib.SMTP, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._connect(), False

    def _checkin(self, conn: smtplib.SMTP) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.pool_size:
                self._idle.append(conn)
                return
        _quit_quietly(conn)

    def _discard(self, conn: smtplib.SMTP) -> None:
        # After a failure the session state is unknown; a fresh connection is cheaper than doubt.
        _quit_quietly(conn)

    def _connect(self) -> smtplib.SMTP:
        target = self.target
        conn: smtplib.SMTP
        if target.implicit_tls:
            conn = smtplib.SMTP_SSL(
                target.host,
                target.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=self.ssl_context,
            )
        else:
            conn = smtplib.SMTP(target.host, target.port, local_hostname=self.local_hostname, timeout=self.timeout)
        try:
            conn.ehlo()
            if target.starttls:
                conn.starttls(context=self.ssl_context)
                conn.ehlo()
            if target.username is not None:
                conn.login(target.username, target.password)
        except BaseException:
            _quit_quietly(conn)
            raise
        log.debug("smtp: connected to %s:%d", target.host, target.port)
        return conn


def result_for(exc: smtplib.SMTPException | OSError, recipient: str) -> SendResult:
    """Map what the server (or the network) said to a SendResult; 4xx retries, 5xx does not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refusals = exc.recipients
        code, reply = refusals.get(recipient) or next(iter(refusals.values()), (554, b"recipient refused"))
        return _by_code(code, reply, at_recipient=True)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _by_code(exc.smtp_code, exc.smtp_error, at_recipient=False, sender=True)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, exc.smtp_error, at_recipient=False)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SendResult.transient(f"smtp connection lost: {exc}")
    if isinstance(exc, smtplib.SMTPException):
        # Missing STARTTLS, AUTH or SMTPUTF8 support: the relay or our settings must change, not the timing.
        return SendResult.rejected(f"smtp: {exc}")
    return SendResult.transient(f"smtp connection failed: {type(exc).__name__}: {exc}")


# RFC 3463 enhanced status: 5.1.x is about the address (bad mailbox, bad domain, moved), 5.2.1 a disabled
# mailbox. Others (5.7.x policy or spam, 5.3.x our relay, 5.2.2 a full mailbox) say nothing final about
# the address, so it is not marked.
_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
# Basic codes that name the mailbox when a server sends no enhanced code, trusted only at RCPT TO.
_MAILBOX_CODES = frozenset({550, 551, 553})


def _by_code(code: int, reply: bytes | str, *, at_recipient: bool, sender: bool = False) -> SendResult:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    error = f"{code} {' '.join(text.split())}".strip()
    enhanced = _ENHANCED.match(text)
    reply_code = f"{code} {'.'.join(enhanced.groups())}" if enhanced else str(code)
    if 500 <= code <= 599:
        gone = not sender and _address_gone(code, text, at_recipient)
        return SendResult.rejected(error, code=reply_code, address_rejected=gone, address_note=error if gone else None)
    return SendResult.transient(error, code=reply_code)


def _address_gone(code: int, text: str, at_recipient: bool) -> bool:
    """Whether a 5xx says the recipient's address cannot receive mail, rather than this message or our relay."""
    enhanced = _ENHANCED.match(text)
    if enhanced:
        klass, subject, detail = (int(part) for part in enhanced.groups())
        return klass == 5 and (subject == 1 or (subject, detail) == (2, 1))
    return at_recipient and code in _MAILBOX_CODES


def _went_stale(exc: BaseException) -> bool:
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        # A timeout is a slow server, not a dropped one: it may still accept the message, so no resend.
        return not isinstance(exc.__context__, TimeoutError)
    # 421: the server is closing the channel (often an idle timeout); nothing was accepted.
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421


def _quit_quietly(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()
