"""Standard Webhooks signatures: `v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta

from engine.errors import SignatureError


def secret_bytes(secret: str) -> bytes:
    """`whsec_<base64>` secrets are decoded; anything else is used as its UTF-8 bytes."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error as exc:
            raise ValueError("FOREWARN_WEBHOOK_SECRET_EVENTS: whsec_ secret is not valid base64") from exc
    return secret.encode("utf-8")


def sign(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret_bytes(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: datetime, tolerance: timedelta) -> None:
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (msg_id and stamp and signatures):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureError("webhook-timestamp is not a Unix time in seconds") from None
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        raise SignatureError("webhook-timestamp is outside the allowed tolerance (replayed or clock skew)")
    expected = sign(secret, msg_id=msg_id, timestamp=timestamp, body=body).encode()
    # Several signatures may be sent while a secret is rotated; any valid v1 one is enough.
    if not any(hmac.compare_digest(expected, candidate.encode()) for candidate in signatures.split()):
        raise SignatureError("signature does not match")
