"""Conversation state in the database: the default `ConversationStore`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage import UnitOfWork


class SqlConversations:
    """The default: the `conversations` table, in the message's own transaction."""

    async def load(self, uow: UnitOfWork, key: str) -> tuple[dict[str, Any] | None, Any]:
        loaded = await uow.conversations.load(key)
        return (loaded[0], loaded[1]) if loaded is not None else (None, None)

    async def save(
        self,
        uow: UnitOfWork,
        key: str,
        channel: str,
        chat_id: str,
        state: dict[str, Any],
        version: Any,
        expires_at: datetime,
        *,
        now: datetime,
        inbox_id: int,
    ) -> None:
        await uow.conversations.save(key, channel, chat_id, state, version, expires_at, now=now)
