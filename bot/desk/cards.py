"""Report cards in officers' groups, edited in place after each change.

An action only marks a card due (`ReportCard.refresh_due_at`) in its transaction; this worker
renders the report as it is now and edits the group's message after the commit, retrying what
Telegram asks to retry. A card not sent yet is replaced in the outbox instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.actions.reports import DeskEnv, render_report_card
from bot.core.ports import Clock
from channels.base import ChannelSender, SendError, SendFailure
from channels.telegram import (
    TelegramSender,  # (until the sender edits cards itself)
)
from intake.catalog import Catalog
from intake.types import ChannelCapabilities
from storage import Store
from storage.models import ReportCard

log = logging.getLogger(__name__)

TELEGRAM = "telegram"
REFRESH_POLL = 1.0  # seconds between looks for cards to re-render
LEARN_EVERY = 600.0  # seconds between copying sent cards' message ids from the outbox
MAX_EDIT_ATTEMPTS = 8


class CardEditor:
    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        *,
        senders: Mapping[str, ChannelSender],
        capabilities: Mapping[str, ChannelCapabilities],
        clock: Clock,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.senders = senders  # live: a sender added later is seen
        self.capabilities = capabilities
        self.clock = clock
        self._wake = asyncio.Event()

    def _sender(self) -> TelegramSender | None:
        sender = self.senders.get(TELEGRAM)
        return sender if isinstance(sender, TelegramSender) else None

    async def run(self, poll: float = REFRESH_POLL) -> None:
        """Re-render due cards until cancelled."""
        next_learn = 0.0
        while True:
            try:
                if time.monotonic() >= next_learn:  # keep cards findable if the outbox is pruned
                    next_learn = time.monotonic() + LEARN_EVERY
                    async with self.store.unit_of_work() as uow:
                        await uow.desk.learn_message_ids()
                await self.refresh_cards()
            except Exception:
                log.exception("refreshing report cards failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll)
            self._wake.clear()

    def wake(self) -> None:
        self._wake.set()

    async def refresh_cards(self, limit: int = 20) -> int:
        """Edit every card that is due; returns how many were edited."""
        now = self.clock()
        async with self.store.unit_of_work() as uow:
            due = await uow.desk.due_cards(now, limit)
        edited = 0
        for card in due:
            if await self._refresh(card, now):
                edited += 1
        return edited

    async def _refresh(self, card: ReportCard, now: datetime) -> bool:
        assert card.id is not None
        sender = self._sender()
        env = DeskEnv(self.catalog, now, self.capabilities)
        async with self.store.unit_of_work() as uow:
            if not await uow.desk.claim_card(card.id, card.refresh_due_at, now):
                return False  # another worker has it, or it was asked for again meanwhile
            report = await uow.reports.get_by_id(card.report_id)
            if report is None:
                return False
            reply = await render_report_card(uow, env, report, card)
            message_id = card.message_id
            if message_id is None:
                row = await uow.desk.outbox_row(card.outbox_id) if card.outbox_id else None
                if row is None or row.status == "dead":
                    await uow.desk.set_card(card.id, now, last_error="the card was never sent")
                    return False
                if row.status == "sent" and row.external_id:
                    message_id = row.external_id
                    await uow.desk.set_card(card.id, now, message_id=message_id)
                elif await uow.desk.replace_pending_payload(row.id or 0, reply.to_dict()):
                    return True  # not sent yet: it will go out as it is now
                else:  # being sent right now: look again shortly
                    await uow.desk.set_card(card.id, now, refresh_due_at=now + timedelta(seconds=2))
                    return False
        if sender is None:
            return False
        try:
            await sender.edit_text(card.chat_id, message_id, reply)  # "not modified" is success
        except SendError as error:
            await self._edit_failed(card, error, now)
            return False
        if card.attempts or card.last_error:
            async with self.store.unit_of_work() as uow:
                await uow.desk.set_card(card.id, now, attempts=0, last_error=None)
        return True

    async def _edit_failed(self, card: ReportCard, error: SendError, now: datetime) -> None:
        assert card.id is not None
        attempts = card.attempts + 1
        retry = error.failure is SendFailure.RETRY and attempts < MAX_EDIT_ATTEMPTS
        log.warning("editing the card of report %s failed: %s", card.report_id, error.reason)
        values: dict[str, Any] = {"attempts": attempts, "last_error": error.reason[:300]}
        async with self.store.unit_of_work() as uow:
            current = await uow.desk.card(card.id)
            if retry and current is not None and current.refresh_due_at is None:
                # (if a newer change asked for an edit meanwhile, that one comes first anyway)
                delay = error.retry_after if error.retry_after is not None else 2.0**attempts
                values["refresh_due_at"] = now + timedelta(seconds=min(300.0, delay))
            await uow.desk.set_card(card.id, now, **values)
