"""Queries for recovering after crashes when several workers share one database.

- Is an inbox row processed already? Asked under the conversation lock before processing, so a
  message is never processed twice even when two workers (a resume sweep and a redelivery) both
  pick it up, and used to validate conversation state kept outside the database.
- Find an inbox row by its platform id (a redelivered message that was stored, but never
  processed, by a worker that died).
- Hand back outbox rows claimed by a worker that died, by the lease end that worker gave them
  (so a row already re-claimed by someone else, with another lease end, is left alone).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OUTBOX_INFLIGHT, OUTBOX_PENDING, InboxMessage, OutboxMessage


@dataclass(frozen=True)
class InboxEntry:
    id: int
    processed: bool
    attempts: int


async def processed_inbox(session: AsyncSession, ids: Iterable[int]) -> dict[int, bool]:
    """For each existing inbox row among `ids`: whether it is marked processed."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = select(InboxMessage.id, InboxMessage.processed_at).where(
        col(InboxMessage.id).in_(wanted)
    )
    rows = (await session.exec(stmt)).all()
    return {row_id: done is not None for row_id, done in rows if row_id is not None}


async def find_inbox(session: AsyncSession, channel: str, external_id: str) -> InboxEntry | None:
    stmt = select(InboxMessage.id, InboxMessage.processed_at, InboxMessage.attempts).where(
        InboxMessage.channel == channel, InboxMessage.external_id == external_id
    )
    row = (await session.exec(stmt)).first()
    if row is None:
        return None
    row_id, done, attempts = row
    assert row_id is not None
    return InboxEntry(row_id, done is not None, attempts)


async def release_outbox_leases(session: AsyncSession, leases: Iterable[datetime]) -> int:
    """Back to pending: in-flight rows whose lease ends at one of `leases` (a claim's rows all
    get the same lease end, and two claims practically never share one to the microsecond)."""
    wanted = sorted(set(leases))
    if not wanted:
        return 0
    stmt = (
        update(OutboxMessage)
        .where(
            col(OutboxMessage.status) == OUTBOX_INFLIGHT,
            col(OutboxMessage.lease_until).in_(wanted),
        )
        .values(status=OUTBOX_PENDING, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return (await session.exec(stmt)).rowcount
