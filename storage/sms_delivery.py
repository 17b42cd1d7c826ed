"""SMS delivery reports: what Twilio or the Android gateway said about a message we sent.

Each report is stored once (`event_key`; providers repeat themselves) and tied to the outbox row
that sent the message, found by the provider's message id that the dispatcher stored as the
row's `external_id`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from intake.types import DeliveryStatus
from storage.dialects import insert_ignoring_conflicts
from storage.models import OutboxMessage, SmsDeliveryEvent


@dataclass(frozen=True)
class DeliveryRecorded:
    new: bool  # False: the same report was recorded before
    outbox: OutboxMessage | None  # the row that sent the message, if we know it


class SmsDeliveryRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    async def record(
        self, status: DeliveryStatus, event_key: str, received_at: datetime
    ) -> DeliveryRecorded:
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.channel == status.channel,
                OutboxMessage.external_id == status.external_id,
            )
            .order_by(col(OutboxMessage.id).desc())
            .limit(1)
        )
        outbox = (await self.session.exec(stmt)).first()
        row = SmsDeliveryEvent(
            event_key=event_key,
            external_id=status.external_id,
            outbox_id=outbox.id if outbox else None,
            status=status.status,
            error=status.error,
            occurred_at=status.at,
            received_at=received_at,
        )
        insert = (
            insert_ignoring_conflicts(self.dialect, SmsDeliveryEvent, "event_key")
            .values(**row.model_dump(exclude={"id"}))
            .returning(col(SmsDeliveryEvent.id))
        )
        inserted = (await self.session.exec(insert)).scalar_one_or_none()
        return DeliveryRecorded(new=inserted is not None, outbox=outbox)

    async def for_message(self, external_id: str) -> list[SmsDeliveryEvent]:
        """Every report about one sent message, oldest first."""
        stmt = (
            select(SmsDeliveryEvent)
            .where(SmsDeliveryEvent.external_id == external_id)
            .order_by(col(SmsDeliveryEvent.id))
        )
        return list((await self.session.exec(stmt)).all())
