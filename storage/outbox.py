"""The outbox: replies waiting to be sent, in order within each conversation.

Rows move pending -> inflight (claimed, with a lease and the claimant's identity) -> sent, or
back to pending for a retry, or to dead. A conversation's row can only be claimed when no
earlier row of that conversation is pending or inflight, so each conversation's messages go out
in order while other conversations are not held up. Dead and sent rows block nothing. A row the
platform will only take after the recipient writes again (WhatsApp's 24-hour window) is
"waiting": it blocks nothing either, and goes back to pending, first in line, when their next
message arrives (`release_waiting`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.coltypes import utcnow
from storage.models import (
    OUTBOX_DEAD,
    OUTBOX_INFLIGHT,
    OUTBOX_PENDING,
    OUTBOX_SENT,
    OUTBOX_WAITING,
    OutboxMessage,
)


class OutboxRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    async def add(
        self,
        conversation_key: str,
        channel: str,
        chat_id: str,
        payload: dict[str, Any],
        due_at: datetime,
        *,
        now: datetime | None = None,
    ) -> int:
        """Queue a message; returns its id. Rows of one conversation go out in id order."""
        row = OutboxMessage(
            conversation_key=conversation_key,
            channel=channel,
            chat_id=chat_id,
            payload=payload,
            due_at=due_at,
            created_at=now or utcnow(),
        )
        self.session.add(row)
        await self.session.flush()
        if row.id is None:  # pragma: no cover - flush assigns it
            raise RuntimeError("outbox row got no id")
        return row.id

    async def get(self, outbox_id: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, outbox_id)

    async def claim(
        self,
        now: datetime,
        lease_seconds: float,
        limit: int,
        channels: Collection[str] | None = None,
        *,
        owner: str | None = None,
        held: Mapping[str, Collection[str]] | None = None,
    ) -> list[OutboxMessage]:
        """Lease due rows that are first in line in their conversation (see module doc).

        `channels`: only rows of these channels (the ones the caller can send on; another
        process sharing the database sends the rest). None: every channel. `owner`: who
        claims (kept in `claimed_by`). `held`: per channel, chats not to claim now (they are
        being paced); their rows stay pending and due."""
        if channels is not None and not channels:
            return []
        earlier = aliased(OutboxMessage)
        blocked = (
            select(col(earlier.id))
            .where(
                col(earlier.conversation_key) == col(OutboxMessage.conversation_key),
                col(earlier.id) < col(OutboxMessage.id),
                col(earlier.status).in_((OUTBOX_PENDING, OUTBOX_INFLIGHT)),
            )
            .exists()
        )
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == OUTBOX_PENDING,
                col(OutboxMessage.due_at) <= now,
                ~blocked,
                *(
                    [col(OutboxMessage.channel).in_(sorted(channels))]
                    if channels is not None
                    else []
                ),
                *(
                    ~and_(
                        col(OutboxMessage.channel) == channel,
                        col(OutboxMessage.chat_id).in_(sorted(chats)),
                    )
                    for channel, chats in (held or {}).items()
                    if chats
                ),
            )
            .order_by(col(OutboxMessage.id))
            .limit(limit)
            .with_for_update(skip_locked=True, of=OutboxMessage)  # PostgreSQL; no-op on SQLite
            .execution_options(populate_existing=True)
        )
        rows = list((await self.session.exec(stmt)).all())
        lease_until = now + timedelta(seconds=lease_seconds)
        for row in rows:
            row.status = OUTBOX_INFLIGHT
            row.lease_until = lease_until
            row.claimed_by = owner
        await self.session.flush()
        return rows

    async def unclaim(self, outbox_ids: Collection[int]) -> int:
        """Claimed rows back to pending as they were (due, attempts and error unchanged): the
        claimant will not send them now after all (pacing)."""
        if not outbox_ids:
            return 0
        stmt = (
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id).in_(sorted(outbox_ids)),
                col(OutboxMessage.status) == OUTBOX_INFLIGHT,
            )
            .values(status=OUTBOX_PENDING, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.exec(stmt)).rowcount

    async def claimants(self) -> list[str]:
        """Who holds in-flight rows (rows claimed before owners were recorded are left out)."""
        stmt = (
            select(OutboxMessage.claimed_by)
            .where(
                col(OutboxMessage.status) == OUTBOX_INFLIGHT,
                col(OutboxMessage.claimed_by).is_not(None),
            )
            .distinct()
        )
        return sorted(owner for owner in (await self.session.exec(stmt)).all() if owner)

    async def release_claims(self, owners: Collection[str]) -> int:
        """In-flight rows claimed by `owners` (processes that are gone) go back to pending."""
        if not owners:
            return 0
        stmt = (
            update(OutboxMessage)
            .where(
                col(OutboxMessage.status) == OUTBOX_INFLIGHT,
                col(OutboxMessage.claimed_by).in_(sorted(owners)),
            )
            .values(status=OUTBOX_PENDING, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.exec(stmt)).rowcount

    async def _set(self, outbox_id: int, **values: Any) -> bool:
        stmt = update(OutboxMessage).where(col(OutboxMessage.id) == outbox_id).values(**values)
        return (await self.session.exec(stmt)).rowcount > 0

    async def sent(self, outbox_id: int, external_id: str | None, now: datetime) -> bool:
        return await self._set(
            outbox_id,
            status=OUTBOX_SENT,
            external_id=external_id,
            sent_at=now,
            lease_until=None,
            attempts=col(OutboxMessage.attempts) + 1,
        )

    async def retry(self, outbox_id: int, due_at: datetime, error: str) -> bool:
        """Back to pending, to be tried again at `due_at`; the conversation waits for it."""
        return await self._set(
            outbox_id,
            status=OUTBOX_PENDING,
            due_at=due_at,
            lease_until=None,
            last_error=error,
            attempts=col(OutboxMessage.attempts) + 1,
        )

    async def dead(self, outbox_id: int, error: str) -> bool:
        """Give up on the row; later rows of the conversation go ahead."""
        return await self._set(
            outbox_id,
            status=OUTBOX_DEAD,
            lease_until=None,
            last_error=error,
            attempts=col(OutboxMessage.attempts) + 1,
        )

    async def wait(self, outbox_id: int, error: str) -> bool:
        """Hold the row until the recipient writes again (see `release_waiting`); it blocks
        nothing meanwhile. Not a failed attempt: the platform only asked us to wait."""
        return await self._set(outbox_id, status=OUTBOX_WAITING, lease_until=None, last_error=error)

    async def release_waiting(self, conversation_key: str, now: datetime) -> int:
        """The recipient wrote: rows held for them are due now, ahead of newer rows."""
        stmt = (
            update(OutboxMessage)
            .where(
                col(OutboxMessage.conversation_key) == conversation_key,
                col(OutboxMessage.status) == OUTBOX_WAITING,
            )
            .values(status=OUTBOX_PENDING, due_at=now)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.exec(stmt)).rowcount

    async def release_expired_leases(self, now: datetime) -> int:
        """Inflight rows whose lease ran out (a crashed sender) go back to pending."""
        stmt = (
            update(OutboxMessage)
            .where(
                col(OutboxMessage.status) == OUTBOX_INFLIGHT,
                col(OutboxMessage.lease_until) < now,
            )
            .values(status=OUTBOX_PENDING, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.exec(stmt)).rowcount

    async def listing(
        self, statuses: Collection[str], *, limit: int = 100, offset: int = 0
    ) -> list[OutboxMessage]:
        """Rows in `statuses`, newest first (dead letters and held replies, for people)."""
        stmt = (
            select(OutboxMessage)
            .where(col(OutboxMessage.status).in_(sorted(statuses)))
            .order_by(col(OutboxMessage.id).desc())
            .limit(limit)
            .offset(offset)
        )
        return list((await self.session.exec(stmt)).all())

    async def counts(self) -> dict[str, int]:
        """How many rows are in each status."""
        stmt = select(OutboxMessage.status, func.count()).group_by(col(OutboxMessage.status))
        return {status: n for status, n in (await self.session.exec(stmt)).all()}

    async def requeue(
        self, now: datetime, *, ids: Collection[int] | None, statuses: Collection[str]
    ) -> list[int]:
        """Send again, from now and with a fresh count of attempts, the rows with `ids` (or
        every row) whose status is in `statuses`; returns the ids requeued."""
        stmt = select(col(OutboxMessage.id)).where(col(OutboxMessage.status).in_(sorted(statuses)))
        if ids is not None:
            stmt = stmt.where(col(OutboxMessage.id).in_(sorted(ids)))
        found = [i for i in (await self.session.exec(stmt)).all() if i is not None]
        if found:
            await self.session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_(found))
                .values(status=OUTBOX_PENDING, due_at=now, lease_until=None, attempts=0)
                .execution_options(synchronize_session=False)
            )
        return sorted(found)

    async def count(self, status: str = OUTBOX_PENDING) -> int:
        stmt = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == status)
        return (await self.session.exec(stmt)).one()
