"""Build the RFC 5322 message that the file and SMTP email channels both send."""

from __future__ import annotations

import email.policy
import re
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

from engine.delivery.channel import OutboundMessage
from engine.errors import TemplateError

# Headers this module owns; letting `message.headers` set them would produce duplicates or break MIME.
RESERVED_HEADERS = frozenset(
    name.lower()
    for name in (
        "From",
        "To",
        "Cc",
        "Bcc",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Reply-To",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
    )
)
# RFC 5322 §2.2: a field name is printable US-ASCII except the colon.
_FIELD_NAME = re.compile(r"^[\x21-\x39\x3b-\x7e]+$")
# 7-bit transfer encodings (quoted-printable or base64, whichever is shorter) survive any relay, with or
# without 8BITMIME, and carry utf-8 text in any language.
POLICY = email.policy.default.clone(cte_type="7bit")
# On the wire headers are not folded at 78 columns: CPython's folder (before python/cpython#144692)
# doubles the space where it wraps an encoded word, so "coffee beans — new" read back with two spaces.
# RFC 5322 allows lines up to 998 characters; bodies keep the encoding they were given when built.
WIRE_POLICY = POLICY.clone(linesep="\r\n", max_line_length=998)


def to_wire(msg: EmailMessage) -> bytes:
    """The message as bytes with CRLF line endings, exactly what an SMTP relay receives."""
    return msg.as_bytes(policy=WIRE_POLICY)


def build_email(message: OutboundMessage, *, sender: str, reply_to: str | None, date: datetime) -> EmailMessage:
    """Turn a rendered notice into a MIME message: text, plus an HTML alternative when given."""
    if message.subject is None:
        raise TemplateError(f"notice {message.notice_id}: an email needs a subject")
    if date.tzinfo is None:
        raise ValueError("the Date header needs an aware datetime")
    _check_header("From", sender)
    _check_header("To", message.recipient)
    _check_header("Subject", message.subject)
    if reply_to:
        _check_header("Reply-To", reply_to)
    for name, value in message.headers.items():
        if not _FIELD_NAME.match(name):
            raise TemplateError(f"header name {name!r} is not a valid RFC 5322 field name")
        if name.lower() in RESERVED_HEADERS:
            raise TemplateError(f"header {name!r} is set by the email channel, not by the notice")
        _check_header(name, value)

    msg = EmailMessage(policy=POLICY)
    msg["From"] = sender
    msg["To"] = message.recipient
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = message.subject
    msg["Date"] = date
    msg["Message-ID"] = f"<{_message_id(message, sender)}>"
    if message.in_reply_to:
        thread_id = f"<{_bare_id(message.in_reply_to, 'In-Reply-To')}>"
        msg["In-Reply-To"] = thread_id
        msg["References"] = thread_id
    if message.unsubscribe_url:
        # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs to the link.
        _check_header("List-Unsubscribe", message.unsubscribe_url)
        msg["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in message.headers.items():
        msg[name] = value

    msg.set_content(message.body, charset="utf-8")
    if message.html is not None:
        msg.add_alternative(message.html, subtype="html", charset="utf-8")
        for part in msg.iter_parts():
            # The stdlib stamps MIME-Version on the added part too; it belongs on the top level only.
            del part["MIME-Version"]
    return msg


def message_id_of(msg: EmailMessage) -> str:
    """The Message-ID without angle brackets, as OutboundMessage and SendResult carry it."""
    return str(msg["Message-ID"]).strip().strip("<>")


def _message_id(message: OutboundMessage, sender: str) -> str:
    if message.message_id:
        return _bare_id(message.message_id, "Message-ID")
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return make_msgid(idstring=f"notice{message.notice_id}", domain=domain).strip("<>")


def _bare_id(value: str, header: str) -> str:
    _check_header(header, value)
    bare = value.strip().strip("<>")
    if not bare or any(char in bare for char in " <>"):
        raise TemplateError(f"{header} {value!r} is not a message id")
    return bare


def _check_header(name: str, value: str) -> None:
    # A line break inside a header value would let template text inject headers (or a body) of its own.
    if "\r" in value or "\n" in value:
        raise TemplateError(f"the {name} header contains a line break (CR/LF), which is not allowed")


__all__ = ["POLICY", "RESERVED_HEADERS", "WIRE_POLICY", "build_email", "message_id_of", "to_wire"]
