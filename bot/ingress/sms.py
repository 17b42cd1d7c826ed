"""The SMS webhooks: ``POST /webhooks/sms/twilio`` and ``POST /webhooks/sms/android``.

Each route answers 404 unless `channels.sms` is enabled with its provider, refuses a request
without a valid signature (401 missing, 403 wrong: nothing is stored), then stores and
processes what the request means before answering: incoming messages go through the pipeline
(deduplicated in the inbox), delivery reports are recorded against the outbox row that sent
the message. Payloads we cannot use are acknowledged (200) so providers stop retrying them.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from bot.core.pipeline import Pipeline
from bot.core.ports import Clock
from bot.settings import SmsConfig
from channels.sms import CHANNEL, SmsEvents
from channels.sms import android as sms_android
from channels.sms import twilio as sms_twilio
from channels.wire import BadPayload, clean, load_json
from storage import Store

log = logging.getLogger(__name__)

TWILIO_PATH = "/webhooks/sms/twilio"
ANDROID_PATH = "/webhooks/sms/android"
MAX_BODY = 64 * 1024  # an SMS webhook is a few hundred bytes


class SmsIngress:
    def __init__(
        self, config: SmsConfig, public_url: str, pipeline: Pipeline, store: Store, *, clock: Clock
    ) -> None:
        self.config = config
        self.public_url = public_url  # what Twilio signs
        self.pipeline = pipeline
        self.store = store
        self.clock = clock

    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route(TWILIO_PATH, self.twilio_webhook, methods=["POST"])
        router.add_api_route(ANDROID_PATH, self.android_webhook, methods=["POST"])
        return router

    async def handle_events(self, events: SmsEvents, raw: Any) -> str:
        """Store and process what one webhook means; returns what happened, for logs and tests."""
        for message in events.messages:
            await self.pipeline.receive(message, raw=raw)
        recorded = 0
        for status, key in zip(events.statuses, events.status_keys, strict=True):
            result = await self.store.record_sms_delivery(status, key, self.clock())
            recorded += result.new
            if (
                result.new
                and result.outbox is not None
                and status.external_id in events.unreachable
            ):
                await self._mark_unreachable(result.outbox.chat_id, status.error or "")
        if events.messages:
            return "message"
        if events.statuses:
            return "status" if recorded else "status: duplicate"
        log.info("sms webhook ignored: %s", events.ignored)
        return f"ignored: {events.ignored}"

    async def _mark_unreachable(self, chat_id: str, error: str) -> None:
        async with self.store.unit_of_work() as uow:
            contact = await uow.contacts.by_chat(CHANNEL, chat_id)
            if contact is not None:
                await uow.contacts.set_reachable(CHANNEL, contact.user_id, False)
        log.info("sms number unreachable (%s)", error)

    def _disabled(self, provider: str) -> bool:
        config = self.config
        return not config.enabled or config.provider != provider

    async def twilio_webhook(self, request: Request) -> Response:
        if self._disabled(sms_twilio.PROVIDER):
            return _refuse(404, "the Twilio SMS webhook is not enabled")
        config = self.config
        signature = request.headers.get(sms_twilio.SIGNATURE_HEADER, "")
        if not signature:
            return _refuse(401, f"missing {sms_twilio.SIGNATURE_HEADER}")
        public_url = self.public_url
        if not public_url:
            return _refuse(403, "self.public_url is not set, so no signature can be checked")
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
        params = clean(params)  # after the signature, which covers the values as sent
        events = sms_twilio.parse_webhook(params, self.clock())
        await self.handle_events(events, raw=dict(params))
        return Response(sms_twilio.EMPTY_TWIML, media_type="text/xml")

    async def android_webhook(self, request: Request) -> JSONResponse:
        if self._disabled(sms_android.PROVIDER):
            return _refuse(404, "the SMS Gateway for Android webhook is not enabled")
        signature = request.headers.get(sms_android.SIGNATURE_HEADER, "")
        timestamp = request.headers.get(sms_android.TIMESTAMP_HEADER, "")
        if not signature or not timestamp:
            missing = (
                sms_android.SIGNATURE_HEADER if not signature else sms_android.TIMESTAMP_HEADER
            )
            return _refuse(401, f"missing {missing}")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _refuse(413, "request too large")
        key = self.config.webhook_secret.get_secret_value()
        problem = sms_android.check_signature(key, body, timestamp, signature, self.clock())
        if problem is not None:
            return _refuse(403, problem)
        try:
            data = load_json(body)
        except BadPayload as exc:
            return _refuse(400, f"unusable event: {exc}")
        events = sms_android.parse_event(data, self.clock())
        outcome = await self.handle_events(events, raw=data)
        return JSONResponse({"ok": True, "outcome": outcome})


def _refuse(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)
