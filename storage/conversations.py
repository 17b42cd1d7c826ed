"""Conversation state in SQL, with optimistic locking on a version number."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.coltypes import utcnow
from storage.dialects import insert_ignoring_conflicts
from storage.errors import ConcurrentUpdate
from storage.models import Conversation


class ConversationRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    async def load(self, key: str) -> tuple[dict[str, Any], int] | None:
        """The state and its version, or None for a conversation never saved (or deleted).

        Expiry is not checked here: compare `expires_at` yourself or purge expired rows.
        """
        stmt = select(Conversation.state, Conversation.version).where(Conversation.key == key)
        row = (await self.session.exec(stmt)).first()
        if row is None:
            return None
        state, version = row
        return dict(state), version

    async def save(
        self,
        key: str,
        channel: str,
        chat_id: str,
        state: dict[str, Any],
        expected_version: int | None,
        expires_at: datetime | None,
        *,
        now: datetime | None = None,
    ) -> int:
        """Store `state` and return its new version.

        `expected_version` is the version `load` returned, or None for a new conversation.
        Raises ConcurrentUpdate when the stored version is not the expected one (or, for a new
        conversation, when someone else created it first).
        """
        now = now or utcnow()
        campaign = state.get("campaign") or None  # the flow's word, kept where SQL can count it
        if expected_version is None:
            fresh = Conversation(
                key=key,
                channel=channel,
                chat_id=chat_id,
                state=state,
                version=1,
                updated_at=now,
                expires_at=expires_at,
                campaign=campaign,
            )
            stmt = (
                insert_ignoring_conflicts(self.dialect, Conversation, "key")
                .values(**fresh.model_dump())
                .returning(col(Conversation.version))
            )
            if (await self.session.exec(stmt)).first() is None:
                raise ConcurrentUpdate("conversation", key, expected_version)
            return 1
        new_version = expected_version + 1
        update_stmt = (
            update(Conversation)
            .where(col(Conversation.key) == key, col(Conversation.version) == expected_version)
            .values(
                channel=channel,
                chat_id=chat_id,
                state=state,
                version=new_version,
                updated_at=now,
                expires_at=expires_at,
                campaign=campaign,
            )
            .execution_options(synchronize_session=False)
        )
        if (await self.session.exec(update_stmt)).rowcount != 1:
            raise ConcurrentUpdate("conversation", key, expected_version)
        return new_version

    async def delete(self, key: str) -> bool:
        """Forget the conversation. False if there was none."""
        stmt = delete(Conversation).where(col(Conversation.key) == key)
        return (await self.session.exec(stmt)).rowcount > 0

    async def purge_expired(self, now: datetime) -> int:
        """Delete conversations whose `expires_at` has passed; returns how many."""
        stmt = delete(Conversation).where(col(Conversation.expires_at) < now)
        return (await self.session.exec(stmt)).rowcount
