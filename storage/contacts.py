"""Contacts: who wrote to us, on which channel, and whether we may still write back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.coltypes import utcnow
from storage.dialects import insert_or_update
from storage.models import Contact


class ContactRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    async def get(self, channel: str, user_id: str) -> Contact | None:
        stmt = select(Contact).where(Contact.channel == channel, Contact.user_id == user_id)
        return (await self.session.exec(stmt)).first()

    async def by_chat(self, channel: str, chat_id: str) -> Contact | None:
        """The contact replies to `chat_id` reach (the most recently created if several)."""
        stmt = (
            select(Contact)
            .where(Contact.channel == channel, Contact.chat_id == chat_id)
            .order_by(col(Contact.id).desc())
            .limit(1)
        )
        return (await self.session.exec(stmt)).first()

    async def upsert(
        self,
        channel: str,
        user_id: str,
        chat_id: str,
        *,
        display_name: str | None = None,
        phone: str | None = None,
        language: str | None = None,
        inbound_at: datetime | None = None,
    ) -> Contact:
        """Create or update the contact; only fields given (not None) are changed.

        `inbound_at` records a message from the contact, which also makes them reachable again.
        """
        given: dict[str, object] = {
            "chat_id": chat_id,
            "display_name": display_name,
            "phone": phone,
            "language": language,
            "last_inbound_at": inbound_at,
        }
        changed = {name: value for name, value in given.items() if value is not None}
        if inbound_at is not None:
            changed["reachable"] = True
        # One statement, race-free: a concurrent creator's row is updated instead.
        created = {"channel": channel, "user_id": user_id, "created_at": inbound_at or utcnow()}
        stmt = insert_or_update(
            self.dialect,
            Contact,
            {**created, **changed},
            ("channel", "user_id"),
            tuple(changed),
        ).returning(*Contact.__table__.columns)  # type: ignore[attr-defined]
        row = (await self.session.exec(stmt)).one()
        return Contact(**row._asdict())

    async def set_reachable(self, channel: str, user_id: str, reachable: bool) -> bool:
        """Mark whether we may send to the contact. False if there is no such contact."""
        stmt = (
            update(Contact)
            .where(col(Contact.channel) == channel, col(Contact.user_id) == user_id)
            .values(reachable=reachable)
        )
        result = await self.session.exec(stmt)
        return result.rowcount > 0
