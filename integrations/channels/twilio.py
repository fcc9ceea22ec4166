"""SMS through the real Twilio client, carried by a pooled httpx client to a configurable base URL."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import httpx
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from engine.delivery.channel import CallbackError, InboundText, OutboundMessage, SendResult, StatusReport
from engine.vocabulary import Channel

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
PROVIDER = "twilio"
# Twilio's error codes that say something about the number itself (https://www.twilio.com/docs/api/errors).
OPTED_OUT = "21610"  # "Attempt to send to unsubscribed recipient": the number replied STOP
CANNOT_TEXT = {"21211": "not a valid phone number", "21614": "not a mobile number"}
# The twilio client reads TWILIO_EDGE/TWILIO_REGION from os.environ unless handed a non-empty mapping;
# Forewarn is configured through FOREWARN_* settings only, so pin them empty.
_NO_ENVIRONMENT = {"TWILIO_EDGE": "", "TWILIO_REGION": ""}


class HttpxTwilioHttpClient(HttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """A `twilio.http.HttpClient` over one pooled `httpx.Client`, sending to `base_url`."""

    def __init__(self, base_url: str = TWILIO_API, *, timeout: float = 10.0) -> None:
        super().__init__(log, False, timeout)
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)
        # Twilio's exceptions drop the response headers; each thread keeps its last response for Retry-After.
        self._local = threading.local()

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send one API request; params and bodies hold personal data, so nothing here is logged."""
        url = self.base_url + uri[len(TWILIO_API) :] if uri.startswith(TWILIO_API + "/") else uri
        content_type = (headers or {}).get("Content-Type", "")
        body: dict[str, Any] = {}
        if content_type in ("application/json", "application/scim+json"):
            body["json"] = data
        else:
            body["data"] = data
        self._local.last_response = None
        response = self._http.request(
            method.upper(),
            url,
            params=params,  # type: ignore[arg-type]  # twilio passes str-valued dicts
            headers=headers,
            auth=auth,
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            follow_redirects=allow_redirects,
            **body,
        )
        result = Response(response.status_code, response.text, response.headers)
        self._local.last_response = result
        return result

    @property
    def last_response(self) -> Response | None:
        """The response this thread received last, or None."""
        response: Response | None = getattr(self._local, "last_response", None)
        return response

    def close(self) -> None:
        self._http.close()


class TwilioSmsChannel:
    """Sends SMS with `client.messages.create`; expected provider refusals come back as results."""

    name = Channel.SMS
    provider = PROVIDER

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        base_url: str = TWILIO_API,
        *,
        status_callback: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not (from_number or messaging_service_sid):
            raise ValueError("Twilio needs a sender: a from number or a messaging service sid")
        self.from_number = from_number or None
        self.messaging_service_sid = messaging_service_sid or None
        self.status_callback = status_callback  # where Twilio reports how each text went
        self.http = HttpxTwilioHttpClient(base_url, timeout=timeout)
        self.client = Client(account_sid, auth_token, http_client=self.http, environment=dict(_NO_ENVIRONMENT))

    def send(self, message: OutboundMessage) -> SendResult:
        sender: dict[str, str] = (
            {"messaging_service_sid": self.messaging_service_sid}
            if self.messaging_service_sid
            else {"from_": self.from_number or ""}
        )
        if self.status_callback:
            sender["status_callback"] = self.status_callback
        try:
            created = self.client.messages.create(to=message.recipient, body=message.body, **sender)
        except (TwilioRestException, TwilioServiceException) as exc:
            return self._result_for(exc)
        except httpx.TransportError as exc:
            return SendResult.transient(f"twilio unreachable: {type(exc).__name__}: {exc}")
        return SendResult.sent(provider_id=str(created.sid))

    def close(self) -> None:
        self.http.close()

    def _result_for(self, exc: TwilioRestException | TwilioServiceException) -> SendResult:
        status = int(exc.status)
        code = exc.code or status
        if isinstance(exc, TwilioServiceException):
            text = str(exc.detail or exc.title)
        else:
            text = str(exc.msg).removeprefix("Unable to create record: ")
        error = f"twilio {code}: {text}"
        if status == 429:
            return SendResult.transient(error, code=str(code), retry_after=self._retry_after())
        if status >= 500:
            return SendResult.transient(error, code=str(code))
        return failure(str(code), error)

    def _retry_after(self) -> float | None:
        response = self.http.last_response
        if response is None or response.status_code != 429 or not response.headers:
            return None
        value = response.headers.get("Retry-After")
        # Only delta-seconds: an HTTP-date would need the wall clock, and Twilio sends seconds.
        try:
            seconds = float(value) if value is not None else None
        except ValueError:
            return None
        return seconds if seconds is not None and seconds >= 0 else None


def failure(code: str, error: str) -> SendResult:
    """A text Twilio refused for good (at sending or later, in a status callback), with what the code
    says about the number."""
    if code == OPTED_OUT:
        return SendResult.rejected(
            error, code=code, opted_out=True, address_note=f"twilio {OPTED_OUT}: the number replied STOP"
        )
    if code in CANNOT_TEXT:
        note = f"twilio {code}: {CANNOT_TEXT[code]}"
        return SendResult.rejected(error, code=code, address_rejected=True, address_note=note)
    return SendResult.rejected(error, code=code or None)


class TwilioCallbacks:
    """Twilio's status callbacks and inbound texts: form posts signed with X-Twilio-Signature."""

    provider = PROVIDER
    SIGNATURE_HEADER = "x-twilio-signature"

    def __init__(self, auth_token: str) -> None:
        self.validator = RequestValidator(auth_token)

    def verify(self, url: str, body: bytes, headers: Mapping[str, str]) -> Mapping[str, str]:
        signature = headers.get(self.SIGNATURE_HEADER)
        if not signature:
            raise CallbackError("missing X-Twilio-Signature")
        try:
            fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
        except (UnicodeDecodeError, ValueError) as exc:
            raise CallbackError("unreadable form") from exc
        # Twilio signs the URL it called and every form field.
        if not self.validator.validate(url, fields, signature):
            raise CallbackError("wrong X-Twilio-Signature")
        return fields

    def status(self, fields: Mapping[str, str]) -> StatusReport | None:
        sid = fields.get("MessageSid") or fields.get("SmsSid")
        status = (fields.get("MessageStatus") or fields.get("SmsStatus") or "").strip().lower()
        if not sid or not status:
            return None
        if status in ("undelivered", "failed"):
            code = fields.get("ErrorCode") or ""
            return StatusReport(sid, status, failure(code, f"twilio {code or status}"))
        return StatusReport(sid, status)

    def inbound(self, fields: Mapping[str, str]) -> InboundText | None:
        sender = fields.get("From")
        if not sender:
            return None
        # OptOutType is sent when a messaging service has custom opt-out keywords; it wins over the body.
        return InboundText(sender, fields.get("Body") or "", keyword=fields.get("OptOutType") or None)

    def reply(self, text: str | None) -> tuple[str, str]:
        response = MessagingResponse()
        if text:
            response.message(text)
        return str(response), "application/xml"
