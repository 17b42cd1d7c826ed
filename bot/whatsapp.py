"""WhatsApp webhooks into the pipeline, delivery statuses, and the 24-hour window.

Meta lets a business send free-form messages only within 24 hours of the citizen's last
message. `ContactWindow` tells the sender whether that window is open for a chat, from the
contact's last inbound time and from any refusal (error 131047) WhatsApp reported since; outside
it the sender uses the status template or holds the reply ("waiting" in the outbox) until the
citizen writes again, when the pipeline releases it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.service import Service
from channels.base import SendError
from channels.whatsapp import (
    CHANNEL,
    REENGAGEMENT,
    UNREACHABLE,
    StatusUpdate,
    WhatsAppSender,
    parse_webhook,
)
from storage import Store
from storage.whatsapp import RecordedDelivery

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
# We record an inbound message when we process it, a little after WhatsApp's own clock started:
# close our window this much early so a free-form send never races the real end.
WINDOW_MARGIN = timedelta(minutes=10)
REQUEUED_FROM = "requeued_from"  # outbox payload key: a copy made after an async 131047


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


def sender_of(service: Service) -> WhatsAppSender | None:
    sender = service.senders.get(CHANNEL)
    return sender if isinstance(sender, WhatsAppSender) else None


def attach(service: Service) -> None:
    """Give the running WhatsApp sender its view of the 24-hour window."""
    sender = sender_of(service)
    if sender is not None and sender.window is None:
        sender.window = ContactWindow(service.store, service.clock)


async def handle_notification(service: Service, data: Any) -> dict[str, Any]:
    """Store and process everything one (verified) webhook notification holds.

    Every message is in the inbox and processed, and every status recorded, before this
    returns. Marking messages read is the one platform call, started in the background.
    """
    config = service.settings.channels.whatsapp
    events = parse_webhook(
        data, phone_number_id=config.phone_number_id or None, now=service.clock()
    )
    accepted = duplicates = 0
    latest: dict[str, str] = {}  # chat -> its newest message id, to mark read
    for incoming in events.messages:
        result = await service.pipeline.accept(incoming.message, raw=incoming.raw)
        if result.inbox_id is None:
            duplicates += 1
            continue
        accepted += 1
        latest[incoming.message.chat_id] = incoming.message.external_id
    sender = sender_of(service)
    if sender is not None:
        for message_id in latest.values():
            service.spawn(_mark_read(sender, message_id))
    statuses = 0
    for update in events.statuses:
        statuses += await record_status(service, update)
    for reason in events.ignored:
        log.info("whatsapp webhook: ignored %s", reason)
    return {
        "messages": accepted,
        "duplicates": duplicates,
        "statuses": statuses,
        "ignored": events.ignored,
    }


async def _mark_read(sender: WhatsAppSender, message_id: str) -> None:
    try:
        await sender.mark_read(message_id)
    except SendError as exc:
        log.info("marking a WhatsApp message read failed: %s", exc.reason)


async def record_status(service: Service, update: StatusUpdate) -> bool:
    """Record a delivery status against its outbox row; False for a repeat."""
    delivery = update.delivery
    recorded = await service.store.record_whatsapp_delivery(
        delivery.external_id,
        delivery.status,
        delivery.at,
        received_at=service.clock(),
        chat_id=update.recipient,
        error_code=update.error_code,
        error=delivery.error,
    )
    if recorded is None:
        return False
    if delivery.status == "failed":
        await _delivery_failed(service, update, recorded)
    return True


async def _delivery_failed(
    service: Service, update: StatusUpdate, recorded: RecordedDelivery
) -> None:
    row = recorded.outbox
    log.warning(
        "WhatsApp could not deliver message %s (outbox %s): %s",
        update.delivery.external_id,
        row.id if row else "unknown",
        update.delivery.error,
    )
    now = service.clock()
    if update.error_code == REENGAGEMENT and row is not None and row.id is not None:
        if row.payload.get(REQUEUED_FROM) is not None:
            return  # the copy failed the same way: the window check is not attached
        # Accepted, then refused: the window had closed. Send it again; the window check now
        # knows, so it goes as the status template or waits for the citizen to write.
        async with service.store.unit_of_work() as uow:
            await uow.outbox.add(
                row.conversation_key,
                row.channel,
                row.chat_id,
                {**row.payload, REQUEUED_FROM: row.id},
                now,
                now=now,
            )
        service.dispatcher.wake()
    elif update.error_code in UNREACHABLE:
        chat_id = row.chat_id if row is not None else update.recipient
        if chat_id:
            async with service.store.unit_of_work() as uow:
                contact = await uow.contacts.by_chat(CHANNEL, chat_id)
                if contact is not None:
                    await uow.contacts.set_reachable(CHANNEL, contact.user_id, False)
