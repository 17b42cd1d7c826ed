"""The web chat's tables: browsers' sessions and the replies delivered to their pages.

Writes are short transactions of their own. The page's polling reads go through the
statistics' reader (`storage.analytics.StatsReader`): on SQLite a plain read beside the
writers, never the write lock, so open pages do not queue behind the pipeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession as SAAsyncSession
from sqlmodel import col

from storage.analytics import StatsReader
from storage.db import Database
from storage.models import WebMessage, WebSession


class WebChatStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._reader = StatsReader(db)

    async def open_session(self, chat_id: str, now: datetime, expires_at: datetime) -> None:
        async with self.db.writing(), self.db.session() as session, session.begin():
            session.add(WebSession(chat_id=chat_id, created_at=now, expires_at=expires_at))

    async def session_expiry(self, chat_id: str) -> datetime | None:
        """When the session of `chat_id` ends; None when there is no such session."""
        async with SAAsyncSession(self._reader.engine) as session:
            try:
                row = await session.get(WebSession, chat_id)
                return row.expires_at if row is not None else None
            finally:
                await session.rollback()

    async def deliver(self, chat_id: str, payload: dict[str, Any], now: datetime) -> int:
        """Put one rendered reply where the page of `chat_id` reads it; returns its id."""
        async with self.db.writing(), self.db.session() as session, session.begin():
            row = WebMessage(chat_id=chat_id, payload=payload, created_at=now)
            session.add(row)
            await session.flush()
            assert row.id is not None
            return row.id

    async def messages_after(
        self, chat_id: str, after: int, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        """(id, rendered reply) of the chat's replies with an id above `after`, oldest first."""
        stmt = (
            select(col(WebMessage.id), col(WebMessage.payload))
            .where(col(WebMessage.chat_id) == chat_id, col(WebMessage.id) > after)
            .order_by(col(WebMessage.id))
            .limit(limit)
        )
        async with SAAsyncSession(self._reader.engine) as session:
            try:
                rows = (await session.execute(stmt)).all()
                return [(int(row[0]), dict(row[1])) for row in rows]
            finally:
                await session.rollback()
