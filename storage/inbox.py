"""The inbox: every accepted inbound message, deduplicated on (channel, external_id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.dialects import insert_ignoring_conflicts
from storage.models import InboxMessage


class InboxRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    async def add(
        self, channel: str, external_id: str, payload: dict[str, Any], received_at: datetime
    ) -> int | None:
        """Insert the message; its id, or None when (channel, external_id) is already there."""
        row = InboxMessage(
            channel=channel, external_id=external_id, payload=payload, received_at=received_at
        )
        stmt = (
            insert_ignoring_conflicts(self.dialect, InboxMessage, "channel", "external_id")
            .values(**row.model_dump(exclude={"id"}))
            .returning(col(InboxMessage.id))
        )
        inbox_id: int | None = (await self.session.exec(stmt)).scalar_one_or_none()
        return inbox_id

    async def get(self, inbox_id: int) -> InboxMessage | None:
        return await self.session.get(InboxMessage, inbox_id)

    async def unprocessed(self, limit: int = 100) -> list[InboxMessage]:
        """Messages not yet marked processed, oldest (first accepted) first."""
        stmt = (
            select(InboxMessage)
            .where(col(InboxMessage.processed_at).is_(None))
            .order_by(col(InboxMessage.id))
            .limit(limit)
        )
        return list((await self.session.exec(stmt)).all())

    async def mark_processed(self, inbox_id: int, now: datetime, error: str | None = None) -> None:
        """Done with the message (`error` says why it could not be handled, if so)."""
        stmt = (
            update(InboxMessage)
            .where(col(InboxMessage.id) == inbox_id)
            .values(processed_at=now, attempts=col(InboxMessage.attempts) + 1, error=error)
        )
        await self.session.exec(stmt)

    async def record_failure(self, inbox_id: int, error: str) -> int:
        """Count a failed attempt and keep the message unprocessed; returns the attempts so far."""
        stmt = (
            update(InboxMessage)
            .where(col(InboxMessage.id) == inbox_id)
            .values(attempts=col(InboxMessage.attempts) + 1, error=error)
            .returning(col(InboxMessage.attempts))
            .execution_options(synchronize_session=False)
        )
        attempts: int | None = (await self.session.exec(stmt)).scalar_one_or_none()
        return attempts or 0
