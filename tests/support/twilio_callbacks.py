"""Post what Twilio posts: form fields signed with twilio's own RequestValidator."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from twilio.request_validator import RequestValidator

from engine.config import Settings
from support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

FROM = "+15005550006"


def with_twilio(settings: Settings, fake: FakeTwilio) -> Settings:
    """The settings with Twilio configured against the local fake (so `build_channels` picks it)."""
    return settings.model_copy(
        update={
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN,
            "twilio_from": FROM,
            "twilio_base_url": fake.base_url,
        }
    )


def post_signed(
    client: TestClient,
    settings: Settings,
    path: str,
    params: dict[str, str],
    *,
    token: str = AUTH_TOKEN,
    signature: str | None = None,
    **kwargs: Any,
) -> Response:
    url = settings.public_url.rstrip("/") + path
    sig = signature if signature is not None else RequestValidator(token).compute_signature(url, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": sig}, **kwargs)


def status_callback(sid: str, status: str, error_code: str | None = None) -> dict[str, str]:
    params = {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "From": FROM,
        "ApiVersion": "2010-04-01",
    }
    if error_code:
        params["ErrorCode"] = error_code
    return params


def inbound_text(from_number: str, body: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": "SM" + "f" * 32,
        "From": from_number,
        "To": FROM,
        "Body": body,
        "NumMedia": "0",
        "ApiVersion": "2010-04-01",
    }
