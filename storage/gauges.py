"""What `/metrics` reads from the database at each scrape: the outbox's rows by channel and
status, and the reports filed per channel.

Read from the database, these figures are the same whichever worker of a deployment is asked
and survive restarts; what happens inside a process (messages received, send errors) is counted
where it happens instead (`bot.analytics.metrics`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import col, select

from storage.db import Database
from storage.models import OutboxMessage, Report


@dataclass(frozen=True)
class Gauges:
    outbox: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, status) -> rows
    reports: dict[str, int] = field(default_factory=dict)  # channel -> reports filed


async def read_gauges(db: Database) -> Gauges:
    """One short read of both figures."""
    depth = select(OutboxMessage.channel, OutboxMessage.status, func.count()).group_by(
        col(OutboxMessage.channel), col(OutboxMessage.status)
    )
    filed = select(Report.channel, func.count()).group_by(col(Report.channel))
    async with db.writing(), db.session() as session, session.begin():
        outbox = {(channel, status): n for channel, status, n in (await session.exec(depth)).all()}
        reports = {channel: n for channel, n in (await session.exec(filed)).all()}
    return Gauges(outbox, reports)
