"""Officers' category corrections, kept as training examples for `lapor train`."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CategoryExample


class ExampleRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    async def add(
        self,
        *,
        report_id: int | None,
        description: str,
        category_id: str,
        previous_category_id: str | None,
        actor: str,
        now: datetime,
    ) -> None:
        """Keep (description, category); blank descriptions teach nothing and are skipped."""
        if not description.strip():
            return
        self.session.add(
            CategoryExample(
                report_id=report_id,
                description=description,
                category_id=category_id,
                previous_category_id=previous_category_id,
                actor=actor,
                created_at=now,
            )
        )
        await self.session.flush()

    async def all(self) -> list[CategoryExample]:
        """Every example, oldest first."""
        stmt = select(CategoryExample).order_by(col(CategoryExample.id))
        return list((await self.session.exec(stmt)).all())
