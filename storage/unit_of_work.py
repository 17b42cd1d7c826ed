"""One database transaction shared by all repositories.

async with store.unit_of_work() as uow:
    found = await uow.conversations.load(key)
    ...
    await uow.outbox.add(...)
    await uow.inbox.mark_processed(inbox_id, now)
# committed here; rolled back if the block raised
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Self

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.contacts import ContactRepository
from storage.conversations import ConversationRepository
from storage.db import Database
from storage.desk import DeskRepository
from storage.examples import ExampleRepository
from storage.inbox import InboxRepository
from storage.outbox import OutboxRepository
from storage.reports import ReportRepository


class UnitOfWork:
    """Repositories over one session; commits on normal exit, rolls back on an exception."""

    def __init__(self, db: Database) -> None:
        self._turn: AbstractAsyncContextManager[None] = db.writing()
        self.session: AsyncSession = db.session()
        dialect = db.dialect
        self.contacts = ContactRepository(self.session, dialect)
        self.conversations = ConversationRepository(self.session, dialect)
        self.reports = ReportRepository(self.session, dialect)
        self.inbox = InboxRepository(self.session, dialect)
        self.outbox = OutboxRepository(self.session, dialect)
        self.desk = DeskRepository(self.session, dialect)
        self.examples = ExampleRepository(self.session, dialect)

    async def __aenter__(self) -> Self:
        await self._turn.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                await self.session.commit()
            else:
                await self.session.rollback()
        finally:
            try:
                await self.session.close()
            finally:
                await self._turn.__aexit__(None, None, None)

    async def commit(self) -> None:
        """Commit now; later work in the block runs in a new transaction."""
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()

    async def flush(self) -> None:
        await self.session.flush()
