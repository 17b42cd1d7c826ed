"""WhatsApp delivery statuses, recorded against the outbox rows they are about, and the state
of a report's status notifications (held, sent, delivered, read) for the API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from intake.types import conversation_key
from storage.dialects import insert_ignoring_conflicts
from storage.models import (
    OUTBOX_INFLIGHT,
    OUTBOX_PENDING,
    OUTBOX_WAITING,
    OutboxMessage,
    WhatsAppDeliveryEvent,
)

CHANNEL = "whatsapp"
_PROGRESS = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}  # the latest word wins


@dataclass(frozen=True)
class NotificationState:
    """Where one status notification to the citizen stands."""

    outbox_id: int
    ticket: str
    outbox_status: str  # "pending" | "inflight" | "waiting" | "sent" | "dead"
    delivery: str | None  # WhatsApp's latest word: "sent" | "delivered" | "read" | "failed"
    created_at: datetime
    sent_at: datetime | None
    error: str | None

    @property
    def pending(self) -> bool:
        """Not sent yet: queued, being sent, or held until the citizen writes again."""
        return self.outbox_status in (OUTBOX_PENDING, OUTBOX_INFLIGHT, OUTBOX_WAITING)


@dataclass(frozen=True)
class RecordedDelivery:
    event_id: int
    outbox: OutboxMessage | None  # the row the message was sent from, when known


class WhatsAppDeliveryRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    async def record(
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
        """Store one status; None when this message already had this status (a repeat)."""
        stmt = (
            select(OutboxMessage)
            .where(OutboxMessage.channel == CHANNEL, OutboxMessage.external_id == external_id)
            .order_by(col(OutboxMessage.id).desc())
            .limit(1)
        )
        outbox = (await self.session.exec(stmt)).first()
        event = WhatsAppDeliveryEvent(
            external_id=external_id,
            status=status,
            outbox_id=outbox.id if outbox else None,
            chat_id=outbox.chat_id if outbox else chat_id,
            error_code=error_code,
            error=error,
            occurred_at=occurred_at,
            received_at=received_at,
        )
        insert = (
            insert_ignoring_conflicts(self.dialect, WhatsAppDeliveryEvent, "external_id", "status")
            .values(**event.model_dump(exclude={"id"}))
            .returning(col(WhatsAppDeliveryEvent.id))
        )
        event_id: int | None = (await self.session.exec(insert)).scalar_one_or_none()
        return RecordedDelivery(event_id, outbox) if event_id is not None else None

    async def for_outbox(self, outbox: OutboxMessage) -> list[WhatsAppDeliveryEvent]:
        """The statuses of what `outbox` sent, oldest first."""
        matches = [col(WhatsAppDeliveryEvent.outbox_id) == outbox.id]
        if outbox.channel == CHANNEL and outbox.external_id:
            matches.append(col(WhatsAppDeliveryEvent.external_id) == outbox.external_id)
        stmt = (
            select(WhatsAppDeliveryEvent)
            .where(or_(*matches))
            .order_by(col(WhatsAppDeliveryEvent.occurred_at), col(WhatsAppDeliveryEvent.id))
        )
        return list((await self.session.exec(stmt)).all())

    async def last_failure(self, chat_id: str, error_codes: Iterable[int]) -> datetime | None:
        """When we last heard that a message to `chat_id` failed with one of `error_codes`
        (None: never). Our own clock, so it compares with the contact's last inbound time."""
        stmt = select(func.max(WhatsAppDeliveryEvent.received_at)).where(
            WhatsAppDeliveryEvent.chat_id == chat_id,
            WhatsAppDeliveryEvent.status == "failed",
            col(WhatsAppDeliveryEvent.error_code).in_(list(error_codes)),
        )
        value = (await self.session.exec(stmt)).one()
        return _aware(value)

    async def notifications(
        self, channel: str, chat_id: str, ticket: str
    ) -> list[NotificationState]:
        """Status notifications about `ticket` queued for the chat that filed it, oldest first."""
        stmt = (
            select(OutboxMessage)
            .where(OutboxMessage.conversation_key == conversation_key(channel, chat_id))
            .order_by(col(OutboxMessage.id))
        )
        found = []
        for row in (await self.session.exec(stmt)).all():
            notice = row.payload.get("notice")
            if row.id is None or not isinstance(notice, dict) or notice.get("ticket") != ticket:
                continue
            events = await self.for_outbox(row) if channel == CHANNEL else []
            latest = max(events, key=lambda e: _PROGRESS.get(e.status, 0), default=None)
            error = latest.error if latest is not None and latest.error else row.last_error
            found.append(
                NotificationState(
                    outbox_id=row.id,
                    ticket=ticket,
                    outbox_status=row.status,
                    delivery=latest.status if latest is not None else None,
                    created_at=row.created_at,
                    sent_at=row.sent_at,
                    error=error,
                )
            )
        return found


def _aware(value: datetime | str | None) -> datetime | None:
    """A UTC datetime, whatever an aggregate handed back (SQLite may give naive or text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
