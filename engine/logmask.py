"""Mask recipients before they reach a log line: logs leave the database's access controls.

`mask_email("ana@example.com")` → `a***@example.com`; `mask_phone("+5511987654321")` → `+55******4321`.
The audit log and the notices table keep full values; only log output is masked.
"""

from __future__ import annotations

import logging
import re

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+\d{8,15}")


def mask_email(address: str | None) -> str:
    if not address:
        return ""
    local, at, domain = address.strip().rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}" if local else f"***@{domain}"


def mask_phone(number: str | None) -> str:
    """Keep the `+`, two leading digits (the country code, roughly) and the last four; hide the length."""
    if not number:
        return ""
    digits = re.sub(r"\D", "", number)
    plus = "+" if number.strip().startswith("+") else ""
    if len(digits) < 10:
        return f"{plus}******{digits[-2:]}" if len(digits) > 4 else "******"
    return f"{plus}{digits[:2]}******{digits[-4:]}"


def redact(text: str) -> str:
    """Mask every email address and E.164 number in free text (exception messages, say)."""
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


class RedactingFilter(logging.Filter):
    """A handler filter: masks addresses and numbers in the message and any traceback text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


# Path segments and query values that are credentials: /unsubscribe/<token>, /s/<token>, ?token=…
_SECRET_PATH = re.compile(r"(/(?:unsubscribe|s)/)[^/?\s\"]+")
_SECRET_QUERY = re.compile(r"((?:^|[?&])(?:token|signature|sig)=)[^&\s\"]+", re.IGNORECASE)


def redact_path(text: str) -> str:
    """`/unsubscribe/QzE.abc?x=1` → `/unsubscribe/***?x=1`; `?token=s3cret` → `?token=***`."""
    return _SECRET_QUERY.sub(r"\1***", _SECRET_PATH.sub(r"\1***", text))


class AccessLogFilter(logging.Filter):
    """For uvicorn's access log: the request line without tokens (its args are client, method, path, …)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_path(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact_path(str(record.msg)) if isinstance(record.msg, str) else record.msg
        return True
