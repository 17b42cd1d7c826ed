"""Group commit for the inbox: the messages that arrive while one write is in flight go to the
database together, in one transaction and one ``INSERT``, instead of one transaction each.

`InboxWriter.add` returns only once the message's batch is committed (its inbox id, or None for
a duplicate), so a route that awaits it may acknowledge the message: nothing acknowledged is
lost. On SQLite the batch is taken while holding the process's write turn, so everything that
queued behind other writers goes in at once. A batch the database refuses is written again one
message at a time, so one bad message fails only its own request.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col

from storage.db import Database
from storage.dialects import insert_ignoring_conflicts
from storage.models import InboxMessage

log = logging.getLogger(__name__)

MAX_BATCH = 200  # messages per INSERT (7 parameters each: far below SQLite's limit)


@dataclass
class _Pending:
    channel: str
    external_id: str
    payload: dict[str, Any]
    received_at: datetime
    done: asyncio.Future[int | None] = field(repr=False)

    def row(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "external_id": self.external_id,
            "payload": self.payload,
            "received_at": self.received_at,
            "processed_at": None,
            "attempts": 0,
            "error": None,
        }


class InboxWriter:
    def __init__(self, db: Database, *, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.max_batch = max_batch
        self._pending: list[_Pending] = []
        self._drainer: asyncio.Task[None] | None = None

    async def add(
        self, channel: str, external_id: str, payload: dict[str, Any], received_at: datetime
    ) -> int | None:
        """Store the message (committed on return): its id, or None when (channel,
        external_id) is already there or earlier in the same batch."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int | None] = loop.create_future()
        self._pending.append(_Pending(channel, external_id, payload, received_at, done))
        drainer = self._drainer
        if drainer is None or drainer.done() or drainer.get_loop() is not loop:
            self._drainer = loop.create_task(self._drain(), name="inbox-group-commit")
        return await asyncio.shield(done)  # a cancelled request does not cancel its batch

    async def _drain(self) -> None:
        while self._pending:
            async with self.db.writing():  # SQLite: what queued meanwhile joins this batch
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                try:
                    ids = await self._write(batch)
                except Exception:
                    log.warning("inbox batch of %d refused; writing one at a time", len(batch))
                    await self._one_by_one(batch)
                    continue
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_result(ids.get(id(pending)))

    async def _one_by_one(self, batch: list[_Pending]) -> None:
        for pending in batch:
            try:
                ids = await self._write([pending])
            except Exception as exc:
                if not pending.done.done():
                    pending.done.set_exception(exc)
                continue
            if not pending.done.done():
                pending.done.set_result(ids.get(id(pending)))

    async def _write(self, batch: list[_Pending]) -> dict[int, int]:
        """Insert the batch in one transaction; inbox ids by id() of the pending entry that
        got the row (the first of several with the same key; none for a duplicate)."""
        first: dict[tuple[str, str], _Pending] = {}
        for pending in batch:
            first.setdefault((pending.channel, pending.external_id), pending)
        stmt = (
            insert_ignoring_conflicts(self.db.dialect, InboxMessage, "channel", "external_id")
            .values([pending.row() for pending in first.values()])
            .returning(
                col(InboxMessage.id), col(InboxMessage.channel), col(InboxMessage.external_id)
            )
        )
        async with self.db.session() as session, session.begin():
            rows = (await session.exec(stmt)).all()
        return {id(first[(channel, external)]): inbox_id for inbox_id, channel, external in rows}
