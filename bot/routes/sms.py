"""The SMS webhooks: ``POST /webhooks/sms/twilio`` and ``POST /webhooks/sms/android``.

Each route answers 404 unless `channels.sms` is enabled with its provider, refuses a request
without a valid signature (401 missing, 403 wrong: nothing is stored), then stores and
processes what the request means before answering: incoming messages go through the pipeline
(deduplicated in the inbox), delivery reports are recorded against the outbox row that sent
the message. Payloads we cannot use are acknowledged (200) so providers stop retrying them.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from bot.service import Service
from channels.sms import CHANNEL, SmsEvents
from channels.sms import android as sms_android
from channels.sms import twilio as sms_twilio

log = logging.getLogger(__name__)

router = APIRouter()

TWILIO_PATH = "/webhooks/sms/twilio"
ANDROID_PATH = "/webhooks/sms/android"
MAX_BODY = 64 * 1024  # an SMS webhook is a few hundred bytes


async def handle_events(service: Service, events: SmsEvents, raw: Any) -> str:
    """Store and process what one webhook means; returns what happened, for logs and tests."""
    for message in events.messages:
        await service.pipeline.accept(message, raw=raw)
    recorded = 0
    for status, key in zip(events.statuses, events.status_keys, strict=True):
        result = await service.store.record_sms_delivery(status, key, service.clock())
        recorded += result.new
        if result.new and result.outbox is not None and status.external_id in events.unreachable:
            await _mark_unreachable(service, result.outbox.chat_id, status.error or "")
    if events.messages:
        return "message"
    if events.statuses:
        return "status" if recorded else "status: duplicate"
    log.info("sms webhook ignored: %s", events.ignored)
    return f"ignored: {events.ignored}"


async def _mark_unreachable(service: Service, chat_id: str, error: str) -> None:
    async with service.store.unit_of_work() as uow:
        contact = await uow.contacts.by_chat(CHANNEL, chat_id)
        if contact is not None:
            await uow.contacts.set_reachable(CHANNEL, contact.user_id, False)
    log.info("sms number unreachable (%s)", error)


def _refuse(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _disabled(service: Service, provider: str) -> bool:
    config = service.settings.channels.sms
    return not config.enabled or config.provider != provider


@router.post(TWILIO_PATH)
async def twilio_webhook(request: Request) -> Response:
    service: Service = request.app.state.service
    if _disabled(service, sms_twilio.PROVIDER):
        return _refuse(404, "the Twilio SMS webhook is not enabled")
    config = service.settings.channels.sms
    signature = request.headers.get(sms_twilio.SIGNATURE_HEADER, "")
    if not signature:
        return _refuse(401, f"missing {sms_twilio.SIGNATURE_HEADER}")
    public_url = service.settings.service.public_url
    if not public_url:
        return _refuse(403, "service.public_url is not set, so no signature can be checked")
    body = await request.body()
    if len(body) > MAX_BODY:
        return _refuse(413, "request too large")
    params = sms_twilio.parse_form(body)
    url = public_url.rstrip("/") + TWILIO_PATH
    if request.url.query:
        url += "?" + request.url.query
    settings_header = request.headers.get(sms_twilio.SETTINGS_HEADER)
    algorithm = sms_twilio.signature_algorithm(settings_header)
    shared_key = config.webhook_secret.get_secret_value()
    key = shared_key if settings_header and shared_key else config.auth_token.get_secret_value()
    if not sms_twilio.verify_signature(key, url, params, signature, algorithm):
        return _refuse(403, f"wrong {sms_twilio.SIGNATURE_HEADER}")
    events = sms_twilio.parse_webhook(params, service.clock())
    await handle_events(service, events, raw=dict(params))
    return Response(sms_twilio.EMPTY_TWIML, media_type="text/xml")


@router.post(ANDROID_PATH)
async def android_webhook(request: Request) -> JSONResponse:
    service: Service = request.app.state.service
    if _disabled(service, sms_android.PROVIDER):
        return _refuse(404, "the SMS Gateway for Android webhook is not enabled")
    signature = request.headers.get(sms_android.SIGNATURE_HEADER, "")
    timestamp = request.headers.get(sms_android.TIMESTAMP_HEADER, "")
    if not signature or not timestamp:
        missing = sms_android.SIGNATURE_HEADER if not signature else sms_android.TIMESTAMP_HEADER
        return _refuse(401, f"missing {missing}")
    body = await request.body()
    if len(body) > MAX_BODY:
        return _refuse(413, "request too large")
    key = service.settings.channels.sms.webhook_secret.get_secret_value()
    problem = sms_android.check_signature(key, body, timestamp, signature, service.clock())
    if problem is not None:
        return _refuse(403, problem)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _refuse(400, "the body is not JSON")
    events = sms_android.parse_event(data, service.clock())
    outcome = await handle_events(service, events, raw=data)
    return JSONResponse({"ok": True, "outcome": outcome})
