"""POST /webhooks/twilio/status and /webhooks/twilio/inbound: Twilio-signed callbacks (403 when not)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import SIGNATURE_HEADER, RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from engine.api.deps import RuntimeDep
from engine.api.webhooks import BodyTooLarge, read_body
from engine.notices.provider_status import apply_status, receive_text
from engine.runtime import Runtime

router = APIRouter(tags=["webhooks"])

MAX_FORM_BYTES = 64 * 1024  # Twilio's forms are a few hundred bytes; a long text is still well under this


class Forbidden(Exception):
    pass


async def signed_form(request: Request, rt: Runtime) -> ImmutableMultiDict[str, str]:
    """The form Twilio posted, once `X-Twilio-Signature` holds for our public URL and these fields."""
    token = rt.settings.twilio_auth_token
    signature = request.headers.get(SIGNATURE_HEADER)
    if not token or not signature:
        raise Forbidden
    try:
        body = await read_body(request, MAX_FORM_BYTES)
        form = ImmutableMultiDict(_parse_form(body))
    except (BodyTooLarge, UnicodeDecodeError, ValueError) as exc:
        raise Forbidden from exc
    # Twilio signs the URL it called: ours as configured, not as the proxy in front of us rewrote it.
    url = rt.settings.public_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    if not RequestValidator(token).validate(url, form, signature):
        raise Forbidden
    return form


def _parse_form(body: bytes) -> list[tuple[str, str]]:
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)


def _forbidden() -> JSONResponse:
    return JSONResponse({"error": "missing or wrong X-Twilio-Signature"}, status_code=403)


def _twiml(response: MessagingResponse) -> Response:
    return Response(str(response), media_type="application/xml")


@router.post("/webhooks/twilio/status", response_model=None)
async def twilio_status(request: Request, rt: RuntimeDep) -> Response:
    try:
        form = await signed_form(request, rt)
    except Forbidden:
        return _forbidden()
    sid, status = form.get("MessageSid") or form.get("SmsSid"), form.get("MessageStatus") or form.get("SmsStatus")
    if sid and status:
        # An unknown sid is answered 200 as well: Twilio must not retry what we cannot match.
        await run_in_threadpool(
            apply_status, rt, message_sid=sid, status=status, error_code=form.get("ErrorCode") or None
        )
    return _twiml(MessagingResponse())


@router.post("/webhooks/twilio/inbound", response_model=None)
async def twilio_inbound(request: Request, rt: RuntimeDep) -> Response:
    try:
        form = await signed_form(request, rt)
    except Forbidden:
        return _forbidden()
    reply = MessagingResponse()
    sender = form.get("From")
    if not sender:
        return _twiml(reply)
    received = await run_in_threadpool(
        receive_text, rt, from_number=sender, body=form.get("Body") or "", opt_out_type=form.get("OptOutType") or None
    )
    if received.kind == "help":
        settings = rt.settings
        reply.message(
            f"{settings.brand_name}: proactive order and service updates. Reply STOP to opt out. "
            f"Help: {settings.support_email}"
        )
    # STOP and START: Twilio itself sends the confirmation carriers require, so we add nothing.
    return _twiml(reply)
