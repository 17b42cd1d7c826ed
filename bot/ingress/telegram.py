"""Telegram into the pipeline: `POST /webhooks/telegram` (checked by its secret header) and
getUpdates polling feed the same `TelegramIngress.handle_update`.

Citizens' private chats go to the pipeline; officers' group updates go to the desk
(`group_updates`, `bot.desk.group.Desk.handle`); a citizen blocking the bot marks the contact.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.core.pipeline import Pipeline
from bot.core.ports import Clock, Spawn
from bot.settings import TelegramConfig
from channels.base import ChannelSender, SendError
from channels.telegram import (
    CHANNEL,
    SECRET_HEADER,
    Signature,
    TelegramEvents,
    TelegramSender,
    check_secret_token,
    parse_update,
)
from channels.wire import BadPayload, clean, load_json
from storage import Store

log = logging.getLogger(__name__)

OFFSET_CURSOR = "telegram:offset"
PATH = "/webhooks/telegram"
MAX_BODY = 1024 * 1024  # Telegram updates are small; a megabyte is plenty

GroupUpdates = Callable[[TelegramEvents], Awaitable[str]]


class TelegramIngress:
    def __init__(
        self,
        config: TelegramConfig,
        pipeline: Pipeline,
        store: Store,
        *,
        group_updates: GroupUpdates,
        senders: Mapping[str, ChannelSender],
        clock: Clock,
        spawn: Spawn,
    ) -> None:
        self.config = config
        self.pipeline = pipeline
        self.store = store
        self.group_updates = group_updates
        self.senders = senders  # live: a sender added later is seen
        self.clock = clock
        self.spawn = spawn

    async def handle_update(self, data: Any) -> str:
        """Store and process one update; returns what happened, for logs and tests.

        Everything is stored before this returns, so the caller may then acknowledge the update.
        Answering a button press (answerCallbackQuery) is the one platform call made here, and it is
        started in the background so it never delays the acknowledgement.
        """
        data = clean(data)  # polled updates too: no NUL or lone surrogate reaches the database
        events = parse_update(data, now=self.clock())
        if events.callback_query_id and events.group_callback is None:  # the desk answers its own
            self.spawn(self._answer_callback(events.callback_query_id))
        for message in events.messages:
            await self.pipeline.receive(message, raw=data)
        if events.membership is not None:
            change = events.membership
            async with self.store.unit_of_work() as uow:
                await uow.contacts.upsert(CHANNEL, change.user_id, change.chat_id)
                await uow.contacts.set_reachable(CHANNEL, change.user_id, not change.blocked)
            # which chat is not logged: a chat id is the citizen's Telegram user id
            log.info("a telegram citizen %s the bot", "blocked" if change.blocked else "unblocked")
            return "blocked" if change.blocked else "unblocked"
        if events.group_message is not None or events.group_callback is not None:
            return await self.group_updates(events)  # officers' groups: bot.desk
        if events.messages:
            return "message"
        log.info("telegram update ignored: %s", events.ignored)
        return f"ignored: {events.ignored}"

    async def _answer_callback(self, callback_query_id: str) -> None:
        sender = self.sender()
        if sender is None:
            return
        try:
            await sender.answer_callback(callback_query_id)
        except SendError as exc:  # an old button (over 15 minutes): nothing to do
            log.info("answerCallbackQuery failed: %s", exc.reason)

    def sender(self) -> TelegramSender | None:
        sender = self.senders.get(CHANNEL)
        return sender if isinstance(sender, TelegramSender) else None

    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route(PATH, self.webhook, methods=["POST"])
        return router

    async def webhook(self, request: Request) -> JSONResponse:
        config = self.config
        if not config.enabled or config.mode != "webhook":
            return JSONResponse({"detail": "the Telegram webhook is not enabled"}, status_code=404)
        secret = config.webhook_secret.get_secret_value()
        check = check_secret_token(secret, request.headers.get(SECRET_HEADER))
        if check is Signature.MISSING:
            return JSONResponse({"detail": f"missing {SECRET_HEADER}"}, status_code=401)
        if check is not Signature.VALID:
            return JSONResponse({"detail": f"wrong {SECRET_HEADER}"}, status_code=403)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"detail": "update too large"}, status_code=413)
        try:
            data = load_json(body)
        except BadPayload as exc:
            return JSONResponse({"detail": f"unusable update: {exc}"}, status_code=400)
        outcome = await self.handle_update(data)
        return JSONResponse({"ok": True, "outcome": outcome})


class Poller:
    """getUpdates long-polling for servers without a public HTTPS address.

    The offset is stored after each update is handled, so a restart neither loses nor repeats
    updates (and a repeat would be deduplicated by the inbox anyway).
    """

    def __init__(
        self, ingress: TelegramIngress, sender: TelegramSender, *, timeout: int = 30
    ) -> None:
        self.ingress = ingress
        self.store = ingress.store
        self.clock = ingress.clock
        self.sender = sender
        self.timeout = timeout

    async def run(self) -> None:
        with contextlib.suppress(SendError):
            await self.sender.delete_webhook()  # getUpdates is refused while a webhook is set
        failures = 0
        while True:
            try:
                handled = await self.poll_once()
                failures = 0
            except SendError as exc:
                failures += 1
                delay = exc.retry_after or min(60.0, 2.0**failures)
                log.warning("getUpdates failed (%s); retrying in %.0f s", exc.reason, delay)
                await asyncio.sleep(delay)
                continue
            except Exception:  # e.g. the database is away: keep the offset, try again
                failures += 1
                log.exception("handling polled updates failed")
                await asyncio.sleep(min(60.0, 2.0**failures))
                continue
            if handled == 0 and self.timeout == 0:
                await asyncio.sleep(0.5)

    async def poll_once(self) -> int:
        stored = await self.store.get_cursor(OFFSET_CURSOR)
        offset = int(stored) if stored else None
        updates = await self.sender.get_updates(offset, timeout=self.timeout)
        for update in updates:
            await self.ingress.handle_update(update)
            update_id = update.get("update_id")
            if isinstance(update_id, int):
                await self.store.set_cursor(OFFSET_CURSOR, str(update_id + 1), self.clock())
        return len(updates)
