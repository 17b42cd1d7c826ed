"""The storage facade the service uses: units of work, plus short transactions of their own
for the inbox (accepting messages), the outbox (dispatching them) and photo downloads.

On SQLite a transaction holds the database's write lock until it ends, so do not call these
methods while a unit of work is open in the same task: they would wait for it (busy_timeout).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from intake.types import DeliveryStatus
from storage.db import Database
from storage.inbox import InboxRepository
from storage.inbox_writer import InboxWriter
from storage.models import (
    FETCH_FAILED,
    FETCH_PENDING,
    FETCH_STORED,
    OUTBOX_PENDING,
    Attachment,
    Cursor,
    InboxMessage,
    OutboxMessage,
    WhatsAppDeliveryEvent,
)
from storage.outbox import OutboxRepository
from storage.sms_delivery import DeliveryRecorded, SmsDeliveryRepository
from storage.unit_of_work import UnitOfWork
from storage.whatsapp import (
    NotificationState,
    RecordedDelivery,
    WhatsAppDeliveryRepository,
)


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.inbox_writer = InboxWriter(db)  # group commit of accepted messages

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.db)

    async def dispose(self) -> None:
        await self.db.dispose()

    @asynccontextmanager
    async def _transaction(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        async with self.db.writing(urgent=urgent), self.db.session() as session, session.begin():
            yield session

    # -- inbox -----------------------------------------------------------------------------

    async def accept_inbound(
        self, channel: str, external_id: str, payload: dict[str, Any], received_at: datetime
    ) -> int | None:
        """Store an inbound message (committed on return): its inbox id, or None if duplicate.
        Messages accepted at the same time share one transaction (`storage.inbox_writer`)."""
        return await self.inbox_writer.add(channel, external_id, payload, received_at)

    async def unprocessed_inbox(self, limit: int = 100) -> list[InboxMessage]:
        """Accepted messages not yet processed, oldest first (to resume after a crash)."""
        async with self._transaction() as session:
            return await InboxRepository(session, self.db.dialect).unprocessed(limit)

    async def record_inbox_failure(self, inbox_id: int, error: str) -> int:
        """Count a failed processing attempt (the unit of work rolled back); returns attempts."""
        async with self._transaction() as session:
            return await InboxRepository(session, self.db.dialect).record_failure(inbox_id, error)

    # -- outbox ----------------------------------------------------------------------------

    def _outbox(self, session: AsyncSession) -> OutboxRepository:
        return OutboxRepository(session, self.db.dialect)

    async def claim_outbox(
        self,
        now: datetime,
        lease_seconds: float = 60,
        limit: int = 50,
        *,
        channels: Collection[str] | None = None,
        owner: str | None = None,
        held: Mapping[str, Collection[str]] | None = None,
    ) -> list[OutboxMessage]:
        """Lease the due rows that are next in line in their conversation (set inflight, by
        `owner`); with `channels`, only rows of those channels (the ones this process can send
        on); never rows to the chats in `held` (per channel: paced for now)."""
        async with self._transaction() as session:
            return await self._outbox(session).claim(
                now, lease_seconds, limit, channels, owner=owner, held=held
            )

    async def outbox_unclaim(self, outbox_ids: Collection[int]) -> int:
        """Claimed rows back to pending, unchanged otherwise (not sent now after all)."""
        async with self._transaction() as session:
            return await self._outbox(session).unclaim(outbox_ids)

    async def outbox_claimants(self) -> list[str]:
        """The owners of in-flight outbox rows."""
        async with self._transaction() as session:
            return await self._outbox(session).claimants()

    async def release_outbox_claims(self, owners: Collection[str]) -> int:
        """In-flight rows of these owners (gone) back to pending; how many."""
        async with self._transaction() as session:
            return await self._outbox(session).release_claims(owners)

    # A send's outcome is written urgently (ahead of other writers waiting on SQLite): until it
    # is, a crash would have the reply sent again.

    async def outbox_sent(self, outbox_id: int, external_id: str | None, now: datetime) -> None:
        async with self._transaction(urgent=True) as session:
            await self._outbox(session).sent(outbox_id, external_id, now)

    async def outbox_retry(self, outbox_id: int, due_at: datetime, error: str) -> None:
        async with self._transaction(urgent=True) as session:
            await self._outbox(session).retry(outbox_id, due_at, error)

    async def outbox_dead(self, outbox_id: int, error: str) -> None:
        async with self._transaction(urgent=True) as session:
            await self._outbox(session).dead(outbox_id, error)

    async def outbox_wait(self, outbox_id: int, error: str) -> None:
        """Hold the row until the recipient writes again (WhatsApp's 24-hour window)."""
        async with self._transaction(urgent=True) as session:
            await self._outbox(session).wait(outbox_id, error)

    async def release_expired_leases(self, now: datetime) -> int:
        async with self._transaction() as session:
            return await self._outbox(session).release_expired_leases(now)

    async def outbox_pending_count(self) -> int:
        """Rows with status "pending" (inflight, sent and dead rows are not counted)."""
        async with self._transaction() as session:
            return await self._outbox(session).count(OUTBOX_PENDING)

    async def outbox_listing(
        self, statuses: Collection[str], *, limit: int = 100, offset: int = 0
    ) -> list[OutboxMessage]:
        """Outbox rows in `statuses` (e.g. dead, waiting), newest first."""
        async with self._transaction() as session:
            return await self._outbox(session).listing(statuses, limit=limit, offset=offset)

    async def outbox_counts(self) -> dict[str, int]:
        """Outbox rows per status."""
        async with self._transaction() as session:
            return await self._outbox(session).counts()

    async def outbox_requeue(
        self, now: datetime, *, ids: Collection[int] | None, statuses: Collection[str]
    ) -> list[int]:
        """Send these rows (None: all) in `statuses` again from now; the ids requeued."""
        async with self._transaction() as session:
            return await self._outbox(session).requeue(now, ids=ids, statuses=statuses)

    # -- attachments (for the media fetcher) -----------------------------------------------

    async def pending_attachments(
        self, limit: int = 50, *, channels: Collection[str] | None = None
    ) -> list[Attachment]:
        """Photos still to download, oldest first; with `channels`, only theirs (the ones this
        process can fetch from: another process sharing the database fetches the rest)."""
        if channels is not None and not channels:
            return []
        async with self._transaction() as session:
            stmt = (
                select(Attachment)
                .where(Attachment.fetch_status == FETCH_PENDING)
                .order_by(col(Attachment.id))
                .limit(limit)
            )
            if channels is not None:
                stmt = stmt.where(col(Attachment.channel).in_(sorted(channels)))
            return list((await session.exec(stmt)).all())

    async def attachments_by_id(self, ids: Collection[int]) -> dict[int, Attachment]:
        """The attachments with these ids that exist (for uploading them with a reply)."""
        if not ids:
            return {}
        async with self._transaction() as session:
            stmt = select(Attachment).where(col(Attachment.id).in_(sorted(set(ids))))
            return {a.id: a for a in (await session.exec(stmt)).all() if a.id is not None}

    async def attachment_stored(
        self, attachment_id: int, *, stored_path: str, sha256: str, size: int, mime: str
    ) -> None:
        await self._update_attachment(
            attachment_id,
            fetch_status=FETCH_STORED,
            stored_path=stored_path,
            sha256=sha256,
            size=size,
            mime=mime,
            last_error=None,
            attempts=col(Attachment.attempts) + 1,
        )

    async def attachment_failed(self, attachment_id: int, error: str, *, final: bool) -> None:
        """Count a failed download; `final` gives up (status "failed"), else it stays pending."""
        await self._update_attachment(
            attachment_id,
            fetch_status=FETCH_FAILED if final else FETCH_PENDING,
            last_error=error,
            attempts=col(Attachment.attempts) + 1,
        )

    async def _update_attachment(self, attachment_id: int, **values: Any) -> None:
        async with self._transaction() as session:
            stmt = update(Attachment).where(col(Attachment.id) == attachment_id).values(**values)
            await session.exec(stmt)

    # -- SMS delivery reports ----------------------------------------------------------------

    async def record_sms_delivery(
        self, status: DeliveryStatus, event_key: str, received_at: datetime
    ) -> DeliveryRecorded:
        """Store a provider's delivery report once, tied to the outbox row it is about."""
        async with self._transaction() as session:
            repository = SmsDeliveryRepository(session, self.db.dialect)
            return await repository.record(status, event_key, received_at)

    # -- WhatsApp delivery statuses ----------------------------------------------------------

    async def record_whatsapp_delivery(
        self,
        external_id: str,
        status: str,
        occurred_at: datetime,
        *,
        received_at: datetime,
        chat_id: str | None = None,
        error_code: int | None = None,
        error: str | None = None,
    ) -> RecordedDelivery | None:
        """Store a status once, tied to its outbox row; None when it is a repeat."""
        async with self._transaction() as session:
            return await WhatsAppDeliveryRepository(session, self.db.dialect).record(
                external_id,
                status,
                occurred_at,
                received_at=received_at,
                chat_id=chat_id,
                error_code=error_code,
                error=error,
            )

    async def whatsapp_deliveries(self, outbox_id: int) -> list[WhatsAppDeliveryEvent]:
        """What WhatsApp said about an outbox row's message, oldest first."""
        async with self._transaction() as session:
            row = await session.get(OutboxMessage, outbox_id)
            if row is None:
                return []
            return await WhatsAppDeliveryRepository(session, self.db.dialect).for_outbox(row)

    async def whatsapp_last_failure(
        self, chat_id: str, error_codes: Iterable[int]
    ) -> datetime | None:
        """When a message to `chat_id` last failed with one of `error_codes`."""
        async with self._transaction() as session:
            repository = WhatsAppDeliveryRepository(session, self.db.dialect)
            return await repository.last_failure(chat_id, error_codes)

    async def notifications(
        self, channel: str, chat_id: str, ticket: str
    ) -> list[NotificationState]:
        """Status notifications about `ticket` to `chat_id`, and whether each is still pending
        (e.g. held until the citizen writes again), sent, delivered or read."""
        async with self._transaction() as session:
            repository = WhatsAppDeliveryRepository(session, self.db.dialect)
            return await repository.notifications(channel, chat_id, ticket)

    # -- cursors ---------------------------------------------------------------------------

    async def get_cursor(self, name: str) -> str | None:
        async with self._transaction() as session:
            cursor = await session.get(Cursor, name)
            return cursor.value if cursor else None

    async def set_cursor(self, name: str, value: str, now: datetime) -> None:
        async with self._transaction() as session:
            cursor = await session.get(Cursor, name)
            if cursor is None:
                session.add(Cursor(name=name, value=value, updated_at=now))
            else:
                cursor.value, cursor.updated_at = value, now
                session.add(cursor)
