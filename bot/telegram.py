"""Telegram updates into the pipeline, the same way for the webhook and for polling."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from bot.service import Service
from channels.base import SendError
from channels.telegram import CHANNEL, TelegramSender, parse_update

log = logging.getLogger(__name__)

OFFSET_CURSOR = "telegram:offset"


async def handle_update(service: Service, data: Any) -> str:
    """Store and process one update; returns what happened, for logs and tests.

    Everything is stored before this returns, so the caller may then acknowledge the update.
    Answering a button press (answerCallbackQuery) is the one platform call made here, and it is
    started in the background so it never delays the acknowledgement.
    """
    events = parse_update(data, now=service.clock())
    if events.callback_query_id and events.group_callback is None:  # the desk answers its own
        service.spawn(_answer_callback(service, events.callback_query_id))
    for message in events.messages:
        await service.pipeline.accept(message, raw=data)
    if events.membership is not None:
        change = events.membership
        async with service.store.unit_of_work() as uow:
            await uow.contacts.upsert(CHANNEL, change.user_id, change.chat_id)
            await uow.contacts.set_reachable(CHANNEL, change.user_id, not change.blocked)
        log.info(
            "telegram chat %s %s the bot",
            change.chat_id,
            "blocked" if change.blocked else "unblocked",
        )
        return "blocked" if change.blocked else "unblocked"
    if events.group_message is not None or events.group_callback is not None:
        return await service.desk.handle(events)  # officers' groups: bot/desk.py
    if events.messages:
        return "message"
    log.info("telegram update ignored: %s", events.ignored)
    return f"ignored: {events.ignored}"


async def _answer_callback(service: Service, callback_query_id: str) -> None:
    sender = service.senders.get(CHANNEL)
    if not isinstance(sender, TelegramSender):
        return
    try:
        await sender.answer_callback(callback_query_id)
    except SendError as exc:  # an old button (over 15 minutes): nothing to do
        log.info("answerCallbackQuery failed: %s", exc.reason)


class Poller:
    """getUpdates long-polling for servers without a public HTTPS address.

    The offset is stored after each update is handled, so a restart neither loses nor repeats
    updates (and a repeat would be deduplicated by the inbox anyway).
    """

    def __init__(self, service: Service, sender: TelegramSender, *, timeout: int = 30) -> None:
        self.service = service
        self.sender = sender
        self.timeout = timeout

    @classmethod
    def for_service(cls, service: Service, *, timeout: int = 30) -> Poller | None:
        sender = service.senders.get(CHANNEL)
        return cls(service, sender, timeout=timeout) if isinstance(sender, TelegramSender) else None

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
        stored = await self.service.store.get_cursor(OFFSET_CURSOR)
        offset = int(stored) if stored else None
        updates = await self.sender.get_updates(offset, timeout=self.timeout)
        for update in updates:
            await handle_update(self.service, update)
            update_id = update.get("update_id")
            if isinstance(update_id, int):
                await self.service.store.set_cursor(
                    OFFSET_CURSOR, str(update_id + 1), self.service.clock()
                )
        return len(updates)
