"""WhatsApp into the pipeline: `GET /webhooks/whatsapp` (Meta's subscription handshake) and
`POST /webhooks/whatsapp` (signed notifications: messages and delivery statuses), and the
24-hour window.

Meta lets a business send free-form messages only within 24 hours of the citizen's last
message. `ContactWindow` tells the sender whether that window is open for a chat, from the
contact's last inbound time and from any refusal (error 131047) WhatsApp reported since; outside
it the sender uses the status template or holds the reply ("waiting" in the outbox) until the
citizen writes again, when the pipeline releases it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from bot.core.pipeline import Pipeline
from bot.core.ports import Clock, Spawn
from bot.settings import WhatsAppConfig
from channels.base import ChannelSender, SendError
from channels.whatsapp import (
    CHANNEL,
    REENGAGEMENT,
    SIGNATURE_HEADER,
    UNREACHABLE,
    Signature,
    StatusUpdate,
    WhatsAppSender,
    check_signature,
    check_verify_token,
    parse_webhook,
)
from channels.wire import BadPayload, clean, load_json
from storage import Store
from storage.whatsapp import RecordedDelivery

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
# We record an inbound message when we process it, a little after WhatsApp's own clock started:
# close our window this much early so a free-form send never races the real end.
WINDOW_MARGIN = timedelta(minutes=10)
REQUEUED_FROM = "requeued_from"  # outbox payload key: a copy made after an async 131047
PATH = "/webhooks/whatsapp"
MAX_BODY = 3 * 1024 * 1024  # Meta documents notifications of up to 3 MB


class ContactWindow:
    """Whether a free-form message may go to a WhatsApp chat now."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    async def __call__(self, chat_id: str) -> bool:
        async with self.store.unit_of_work() as uow:
            contact = await uow.contacts.by_chat(CHANNEL, chat_id)
        last = contact.last_inbound_at if contact is not None else None
        if last is None or self.clock() >= last + WINDOW - WINDOW_MARGIN:
            return False
        refused = await self.store.whatsapp_last_failure(chat_id, (REENGAGEMENT,))
        return refused is None or refused < last


class WhatsAppIngress:
    def __init__(
        self,
        config: WhatsAppConfig,
        pipeline: Pipeline,
        store: Store,
        *,
        senders: Mapping[str, ChannelSender],
        clock: Clock,
        spawn: Spawn,
        wake_outbox: Callable[[], None],
    ) -> None:
        self.config = config
        self.pipeline = pipeline
        self.store = store
        self.senders = senders  # live: a sender added later is seen
        self.clock = clock
        self.spawn = spawn
        self.wake_outbox = wake_outbox

    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route(PATH, self.handshake, methods=["GET"])
        router.add_api_route(PATH, self.webhook, methods=["POST"])
        return router

    async def handshake(self, request: Request) -> Response:
        """Echo ``hub.challenge`` when ``hub.verify_token`` is ours (Meta's subscription check)."""
        config = self.config
        if not config.enabled:
            return _disabled()
        params = request.query_params
        mode, challenge = params.get("hub.mode"), params.get("hub.challenge")
        if mode != "subscribe" or not challenge:
            return JSONResponse(
                {"detail": "expected hub.mode=subscribe and a hub.challenge"}, status_code=400
            )
        token = params.get("hub.verify_token")
        if check_verify_token(config.verify_token.get_secret_value(), token) is not Signature.VALID:
            return JSONResponse({"detail": "wrong hub.verify_token"}, status_code=403)
        return PlainTextResponse(challenge)

    async def webhook(self, request: Request) -> JSONResponse:
        config = self.config
        if not config.enabled:
            return _disabled()
        header = request.headers.get(SIGNATURE_HEADER)
        if not header:
            return JSONResponse({"detail": f"missing {SIGNATURE_HEADER}"}, status_code=401)
        body = await _read_capped(request, MAX_BODY)
        if body is None:
            return JSONResponse({"detail": "notification too large"}, status_code=413)
        check = check_signature(config.app_secret.get_secret_value(), body, header)
        if check is not Signature.VALID:
            status = 401 if check is Signature.MISSING else 403
            return JSONResponse({"detail": f"wrong {SIGNATURE_HEADER}"}, status_code=status)
        try:
            data = load_json(body)
        except BadPayload as exc:
            # Signed by Meta but unreadable: a non-200 would only make Meta send it again.
            log.warning("a signed WhatsApp notification is unusable (%s); ignored", exc)
            return JSONResponse({"ok": True, "ignored": [str(exc)]})
        outcome = await self.handle_notification(data)
        return JSONResponse({"ok": True, **outcome})

    def sender(self) -> WhatsAppSender | None:
        sender = self.senders.get(CHANNEL)
        return sender if isinstance(sender, WhatsAppSender) else None

    def attach_window(self) -> None:
        """Give the running WhatsApp sender its view of the 24-hour window."""
        sender = self.sender()
        if sender is not None and sender.window is None:
            sender.window = ContactWindow(self.store, self.clock)

    async def handle_notification(self, data: Any) -> dict[str, Any]:
        """Store and process everything one (verified) webhook notification holds.

        Every message is in the inbox and processed, and every status recorded, before this
        returns. Marking messages read is the one platform call, started in the background.
        """
        config = self.config
        data = clean(data)  # no NUL or lone surrogate reaches the database
        events = parse_webhook(
            data, phone_number_id=config.phone_number_id or None, now=self.clock()
        )
        accepted = duplicates = 0
        latest: dict[str, str] = {}  # chat -> its newest message id, to mark read
        for incoming in events.messages:
            result = await self.pipeline.receive(incoming.message, raw=incoming.raw)
            if result.inbox_id is None:
                duplicates += 1
                continue
            accepted += 1
            latest[incoming.message.chat_id] = incoming.message.external_id
        sender = self.sender()
        if sender is not None:
            for message_id in latest.values():
                self.spawn(_mark_read(sender, message_id))
        statuses = 0
        for update in events.statuses:
            statuses += await self.record_status(update)
        for reason in events.ignored:
            log.info("whatsapp webhook: ignored %s", reason)
        return {
            "messages": accepted,
            "duplicates": duplicates,
            "statuses": statuses,
            "ignored": events.ignored,
        }

    async def record_status(self, update: StatusUpdate) -> bool:
        """Record a delivery status against its outbox row; False for a repeat."""
        delivery = update.delivery
        recorded = await self.store.record_whatsapp_delivery(
            delivery.external_id,
            delivery.status,
            delivery.at,
            received_at=self.clock(),
            chat_id=update.recipient,
            error_code=update.error_code,
            error=delivery.error,
        )
        if recorded is None:
            return False
        if delivery.status == "failed":
            await self._delivery_failed(update, recorded)
        return True

    async def _delivery_failed(self, update: StatusUpdate, recorded: RecordedDelivery) -> None:
        row = recorded.outbox
        log.warning(
            "WhatsApp could not deliver message %s (outbox %s): %s",
            update.delivery.external_id,
            row.id if row else "unknown",
            update.delivery.error,
        )
        now = self.clock()
        if update.error_code == REENGAGEMENT and row is not None and row.id is not None:
            if row.payload.get(REQUEUED_FROM) is not None:
                return  # the copy failed the same way: the window check is not attached
            # Accepted, then refused: the window had closed. Send it again; the window check now
            # knows, so it goes as the status template or waits for the citizen to write.
            async with self.store.unit_of_work() as uow:
                await uow.outbox.add(
                    row.conversation_key,
                    row.channel,
                    row.chat_id,
                    {**row.payload, REQUEUED_FROM: row.id},
                    now,
                    now=now,
                )
            self.wake_outbox()
        elif update.error_code in UNREACHABLE:
            chat_id = row.chat_id if row is not None else update.recipient
            if chat_id:
                async with self.store.unit_of_work() as uow:
                    contact = await uow.contacts.by_chat(CHANNEL, chat_id)
                    if contact is not None:
                        await uow.contacts.set_reachable(CHANNEL, contact.user_id, False)


def _disabled() -> JSONResponse:
    return JSONResponse({"detail": "the WhatsApp webhook is not enabled"}, status_code=404)


async def _mark_read(sender: WhatsAppSender, message_id: str) -> None:
    try:
        await sender.mark_read(message_id)
    except SendError as exc:
        log.info("marking a WhatsApp message read failed: %s", exc.reason)


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The raw body, or None as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
