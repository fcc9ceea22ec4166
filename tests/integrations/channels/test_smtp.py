"""The SMTP channel against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest
from support.smtp_server import SmtpTestServer, TlsFiles, running_smtp_server

from engine.clock import SimulatedClock
from engine.config import Settings
from engine.delivery.channel import OutboundMessage, SendResult
from engine.errors import TemplateError
from integrations.channels import SmtpChannel, build_channels, parse_smtp_url

NOW = datetime(2025, 3, 4, 14, 30, tzinfo=UTC)
SENDER = "Forewarn Store <notices@shop.example>"


def notice(notice_id: int = 42, **overrides: object) -> OutboundMessage:
    fields: dict[str, object] = {
        "notice_id": notice_id,
        "channel": "email",
        "recipient": "ana@example.com",
        "subject": "Ihre Bestellung verspätet sich — 订单延误",
        "body": "Hallo Ana,\nIhr Paket kommt am Donnerstag. 抱歉。\n",
        "html": "<p>Hallo Ana,</p><p>Ihr Paket kommt am <b>Donnerstag</b>. 抱歉。</p>",
        "message_id": f"notice-{notice_id}@shop.example",
    }
    fields.update(overrides)
    return OutboundMessage(**fields)  # type: ignore[arg-type]


def make_channel(url: str, **options: object) -> SmtpChannel:
    return SmtpChannel(url, SENDER, None, SimulatedClock(NOW), local_hostname="forewarn.test", **options)  # type: ignore[arg-type]


@pytest.fixture
def channel(smtp_server: SmtpTestServer) -> Iterator[SmtpChannel]:
    channel = make_channel(smtp_server.url())
    yield channel
    channel.close()


def test_the_server_receives_a_complete_message(channel: SmtpChannel, smtp_server: SmtpTestServer) -> None:
    result = channel.send(notice())

    assert result.ok and result.provider_id == "notice-42@shop.example"
    [received] = smtp_server.messages
    assert received.mail_from == "notices@shop.example"
    assert received.rcpt_tos == ["ana@example.com"]
    msg = received.parsed()
    assert msg["From"] == SENDER
    assert msg["To"] == "ana@example.com"
    assert msg["Subject"] == "Ihre Bestellung verspätet sich — 订单延误"
    assert msg["Message-ID"] == "<notice-42@shop.example>"
    assert parsedate_to_datetime(msg["Date"]) == NOW
    assert "In-Reply-To" not in msg
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    # On the wire every line ends in CRLF; a mail client shows the same lines.
    assert text.get_content().splitlines() == ["Hallo Ana,", "Ihr Paket kommt am Donnerstag. 抱歉。"]
    assert "<b>Donnerstag</b>. 抱歉。" in html.get_content()


def test_a_follow_up_carries_the_thread_headers(channel: SmtpChannel, smtp_server: SmtpTestServer) -> None:
    channel.send(notice(43, in_reply_to="notice-42@shop.example", headers={"X-Forewarn-Notice": "43"}))

    msg = smtp_server.messages[0].parsed()
    assert msg["In-Reply-To"] == "<notice-42@shop.example>"
    assert msg["References"] == "<notice-42@shop.example>"
    assert msg["X-Forewarn-Notice"] == "43"


def test_a_generated_message_id_is_the_provider_id(channel: SmtpChannel, smtp_server: SmtpTestServer) -> None:
    result = channel.send(notice(message_id=None))

    assert result.provider_id is not None and result.provider_id.endswith("@shop.example")
    assert smtp_server.messages[0].parsed()["Message-ID"] == f"<{result.provider_id}>"


def test_sends_reuse_one_connection(channel: SmtpChannel, smtp_server: SmtpTestServer) -> None:
    results = [channel.send(notice(n)) for n in (1, 2, 3)]

    assert all(r.ok for r in results)
    assert len(smtp_server.messages) == 3
    assert smtp_server.connections == 1


def test_worker_threads_share_the_pool(smtp_server: SmtpTestServer) -> None:
    channel = make_channel(smtp_server.url(), pool_size=2)
    results: list[SendResult] = []

    def worker(first: int) -> None:
        results.extend(channel.send(notice(first + n)) for n in range(5))

    threads = [threading.Thread(target=worker, args=(k * 100,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    channel.close()

    assert len(results) == 20 and all(r.ok for r in results)
    assert len(smtp_server.messages) == 20
    assert smtp_server.connections <= 4  # at most one per thread, never one per message


def test_a_connection_the_server_dropped_is_replaced(channel: SmtpChannel, smtp_server: SmtpTestServer) -> None:
    assert channel.send(notice(1)).ok
    smtp_server.drop_connections()

    result = channel.send(notice(2))

    assert result.ok
    assert [m.parsed()["Message-ID"] for m in smtp_server.messages] == [
        "<notice-1@shop.example>",
        "<notice-2@shop.example>",
    ]
    assert smtp_server.connections == 2


def test_a_slow_reply_is_transient_and_not_resent(smtp_server: SmtpTestServer) -> None:
    channel = make_channel(smtp_server.url(), timeout=0.3)
    assert channel.send(notice(1)).ok  # the next send reuses this connection
    smtp_server.stall_next(1.0)

    result = channel.send(notice(2))
    channel.close()

    assert not result.ok and not result.permanent
    assert len(smtp_server.messages) == 2  # accepted once; a resend would have made it three


def test_451_is_transient_and_the_next_try_goes_through(channel: SmtpChannel, smtp_server: SmtpTestServer) -> None:
    smtp_server.fail_next("451 4.3.0 Mailbox temporarily unavailable")

    first = channel.send(notice())
    second = channel.send(notice())

    assert not first.ok and not first.permanent
    assert first.error == "451 4.3.0 Mailbox temporarily unavailable"
    assert second.ok
    assert len(smtp_server.messages) == 1


def test_550_at_data_is_rejected_with_the_reply_text(channel: SmtpChannel, smtp_server: SmtpTestServer) -> None:
    smtp_server.fail_next("550 5.7.1 Message refused by policy")

    result = channel.send(notice())

    assert not result.ok and result.permanent
    assert result.error == "550 5.7.1 Message refused by policy"
    assert smtp_server.messages == []


def test_refused_recipient_is_rejected_by_its_code(channel: SmtpChannel, smtp_server: SmtpTestServer) -> None:
    smtp_server.fail_next("550 5.1.1 No such user here", stage="rcpt")
    refused = channel.send(notice())
    smtp_server.fail_next("452 4.2.2 Mailbox full", stage="rcpt")
    full = channel.send(notice())

    assert refused.permanent and refused.error == "550 5.1.1 No such user here"
    assert not full.ok and not full.permanent and full.error == "452 4.2.2 Mailbox full"


@pytest.mark.parametrize(
    ("reply", "stage", "gone"),
    [
        ("550 5.1.1 No such user here", "rcpt", True),
        ("550 5.1.1 <ana@example.com>: Recipient address rejected: User unknown", "data", True),
        ("551 5.1.6 User has moved; please try <ana@new.example>", "rcpt", True),
        ("550 5.2.1 Mailbox disabled, not accepting messages", "rcpt", True),
        ("553 Requested action not taken: mailbox name not allowed", "rcpt", True),  # no enhanced code, at RCPT
        ("550 5.7.1 Relaying denied", "rcpt", False),  # our relay's problem, not the customer's mailbox
        ("550 5.7.1 Message refused by policy", "data", False),
        ("552 5.2.2 Mailbox full", "data", False),  # may empty again
        ("554 Message rejected as spam", "data", False),
        ("550 Requested action not taken", "data", False),  # a bare 550 at DATA may be about the content
    ],
)
def test_a_5xx_marks_the_address_only_when_it_is_about_the_mailbox(
    channel: SmtpChannel, smtp_server: SmtpTestServer, reply: str, stage: str, gone: bool
) -> None:
    smtp_server.fail_next(reply, stage=stage)  # type: ignore[arg-type]

    result = channel.send(notice())

    assert not result.ok and result.permanent and result.error == reply
    assert result.address_rejected is gone


def test_line_break_in_subject_is_a_template_error(channel: SmtpChannel, smtp_server: SmtpTestServer) -> None:
    with pytest.raises(TemplateError, match="Subject"):
        channel.send(notice(subject="Late order\r\nBcc: everyone@example.com"))
    assert smtp_server.messages == []


def test_starttls_and_auth(tls_files: TlsFiles) -> None:
    with running_smtp_server(auth=("forewarn", "s3cret/pass"), tls=tls_files) as server:
        channel = make_channel(
            server.url(user="forewarn", password="s3cret/pass", starttls=True),
            ssl_context=tls_files.client_context(),
        )
        result = channel.send(notice())
        channel.close()

        assert result.ok
        assert server.messages[0].parsed()["Subject"] == "Ihre Bestellung verspätet sich — 订单延误"


def test_a_wrong_password_is_rejected(tls_files: TlsFiles) -> None:
    with running_smtp_server(auth=("forewarn", "s3cret"), tls=tls_files) as server:
        channel = make_channel(
            server.url(user="forewarn", password="wrong", starttls=True),
            ssl_context=tls_files.client_context(),
        )
        result = channel.send(notice())
        channel.close()

        assert not result.ok and result.permanent
        assert result.error is not None and result.error.startswith("535 ")
        assert "wrong" not in result.error
        assert server.messages == []


def test_an_untrusted_certificate_is_not_accepted(tls_files: TlsFiles) -> None:
    with running_smtp_server(tls=tls_files) as server:
        channel = make_channel(server.url(starttls=True))  # default context: the test cert is not trusted
        result = channel.send(notice())
        channel.close()

        assert not result.ok and "CERTIFICATE_VERIFY_FAILED" in (result.error or "")
        assert server.messages == []


def test_implicit_tls_with_smtps(tls_files: TlsFiles) -> None:
    with running_smtp_server(auth=("forewarn", "s3cret"), tls=tls_files, implicit_tls=True) as server:
        channel = make_channel(server.url(user="forewarn", password="s3cret"), ssl_context=tls_files.client_context())
        result = channel.send(notice())
        channel.close()

        assert result.ok and len(server.messages) == 1


def test_an_unreachable_server_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        channel = make_channel(f"smtp://127.0.0.1:{port}", timeout=2.0)
        result = channel.send(notice())

    assert not result.ok and not result.permanent
    assert "ConnectionRefusedError" in (result.error or "")


def test_smtp_url_parsing() -> None:
    plain = parse_smtp_url("smtp://mail.example.com:2525")
    assert (plain.host, plain.port, plain.starttls, plain.implicit_tls, plain.username) == (
        "mail.example.com",
        2525,
        False,
        False,
        None,
    )
    secure = parse_smtp_url("smtp://apikey:p%40ss%3Aword@smtp.example.com:587?starttls=1")
    assert (secure.username, secure.password, secure.starttls) == ("apikey", "p@ss:word", True)
    assert "p@ss" not in repr(secure)
    assert parse_smtp_url("smtps://smtp.example.com").port == 465
    assert parse_smtp_url("smtp://localhost").port == 25


@pytest.mark.parametrize(
    "url", ["http://user:hunter2@x:25", "smtp://user:hunter2@:25", "smtps://user:hunter2@x?starttls=1"]
)
def test_bad_smtp_urls_are_refused_without_echoing_the_password(url: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        parse_smtp_url(url)
    assert "hunter2" not in str(excinfo.value)


def test_build_channels_uses_smtp_when_configured(smtp_server: SmtpTestServer) -> None:
    settings = Settings(
        _env_file=None, smtp_url=smtp_server.url(), email_from=SENDER, email_reply_to="help@shop.example"
    )

    email = build_channels(settings, SimulatedClock(NOW))["email"]
    try:
        assert isinstance(email, SmtpChannel)
        assert email.send(notice()).ok
    finally:
        email.close()
    assert smtp_server.messages[0].parsed()["Reply-To"] == "help@shop.example"
