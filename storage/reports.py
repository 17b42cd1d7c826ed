"""Reports, their photos (attachments) and their status events."""

from __future__ import annotations

import builtins
from collections.abc import Collection
from datetime import datetime
from typing import TypeVar

from sqlalchemy import case, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from intake.tickets import format_ticket
from intake.types import ReportDraft, ReportStatus
from storage.dialects import insert_ignoring_conflicts
from storage.models import (
    FETCH_LINK,
    FETCH_PENDING,
    Attachment,
    Report,
    ReportAccessCode,
    StatusEvent,
    TicketCounter,
)

FILED_BY = "citizen"
_T = TypeVar("_T")


class ReportRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    async def next_ticket_number(self, prefix: str) -> int:
        """Allocate the next number for `prefix` (1, 2, ...).

        The counter row is updated in place (``UPDATE ... RETURNING``): on PostgreSQL the row lock
        makes concurrent filers queue, on SQLite the transaction holds the write lock. The number
        is given back if the transaction rolls back, so tickets have no gaps.
        """
        bump = (
            update(TicketCounter)
            .where(col(TicketCounter.prefix) == prefix)
            .values(next_value=col(TicketCounter.next_value) + 1)
            .returning(col(TicketCounter.next_value))
            .execution_options(synchronize_session=False)
        )
        value = (await self.session.exec(bump)).scalar_one_or_none()
        if value is None:
            create = insert_ignoring_conflicts(self.dialect, TicketCounter, "prefix")
            await self.session.exec(create.values(prefix=prefix, next_value=1))
            value = (await self.session.exec(bump)).scalar_one()
        number: int = value - 1
        return number

    async def access_code(self, report_id: int) -> str | None:
        """The report's access code (None: filed before codes existed)."""
        row = await self.session.get(ReportAccessCode, report_id)
        return row.code if row is not None else None

    async def file(
        self,
        draft: ReportDraft,
        *,
        ticket_prefix: str,
        channel: str,
        chat_id: str,
        contact_id: int | None,
        agency_id: str | None,
        now: datetime,
        access_code: str | None = None,
        campaign: str | None = None,
    ) -> Report:
        """Create a report from the flow's draft: ticket, photos to fetch, "received" event;
        `access_code` is the reporter's code for checking it from elsewhere; `campaign` the
        campaign that brought the conversation."""
        number = await self.next_ticket_number(ticket_prefix)
        place = draft.place
        point = place.point if place is not None else None
        report = Report(
            ticket=format_ticket(ticket_prefix, number),
            status=ReportStatus.RECEIVED.value,
            category_id=draft.category_id,
            agency_id=agency_id,
            description=draft.description,
            lat=point.lat if point is not None else None,
            lon=point.lon if point is not None else None,
            kelurahan=place.kelurahan if place is not None else None,
            kecamatan=place.kecamatan if place is not None else None,
            kelurahan_code=place.code if place is not None else None,
            address=(place.address or None) if place is not None else None,
            anonymous=draft.anonymous,
            confidential=draft.confidential,
            channel=channel,
            chat_id=chat_id,
            contact_id=contact_id,
            created_at=now,
            updated_at=now,
            campaign=campaign,
        )
        self.session.add(report)
        await self.session.flush()
        report_id = _id(report)
        if access_code:
            self.session.add(ReportAccessCode(report_id=report_id, code=access_code))
        for photo in [*draft.photos, *draft.voice_notes]:  # both fetched by the media fetcher
            self.session.add(
                Attachment(
                    report_id=report_id,
                    channel=photo.channel,
                    platform_ref=photo.ref,
                    mime=photo.mime,
                    size=photo.size,
                    document=photo.document,
                    fetch_status=FETCH_PENDING,
                    created_at=now,
                )
            )
        self.session.add(
            StatusEvent(
                report_id=report_id,
                status=ReportStatus.RECEIVED.value,
                actor=FILED_BY,
                created_at=now,
            )
        )
        await self.session.flush()
        return report

    async def get(self, ticket: str) -> Report | None:
        stmt = select(Report).where(Report.ticket == ticket)
        return (await self.session.exec(stmt)).first()

    async def get_by_id(self, report_id: int) -> Report | None:
        return await self.session.get(Report, report_id)

    async def list(
        self,
        *,
        status: str | None = None,
        category: str | None = None,
        agency: str | None = None,
        channel: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
        kelurahan: str | None = None,
    ) -> builtins.list[Report]:
        """Reports matching every given filter, newest first. `since` <= created_at < `until`;
        `kelurahan` is a kelurahan code."""
        stmt = _filtered(select(Report), status, category, agency, channel, since, until)
        stmt = _in_kelurahan(stmt, kelurahan)
        stmt = stmt.order_by(col(Report.created_at).desc(), col(Report.id).desc())
        return builtins.list((await self.session.exec(stmt.limit(limit).offset(offset))).all())

    async def count(
        self,
        *,
        status: str | None = None,
        category: str | None = None,
        agency: str | None = None,
        channel: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        kelurahan: str | None = None,
    ) -> int:
        """How many reports `list` would return without limit and offset."""
        stmt = select(func.count()).select_from(Report)
        stmt = _filtered(stmt, status, category, agency, channel, since, until)
        stmt = _in_kelurahan(stmt, kelurahan)
        return (await self.session.exec(stmt)).one()

    async def published(
        self,
        *,
        tickets: Collection[str] | None = None,
        statuses: Collection[str] | None = None,
        categories: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> builtins.list[Report]:
        """Reports that may be shown to the public: never a confidential one. `tickets` given:
        those reports only; otherwise every given filter, `since` <= created_at < `until`.
        Newest first."""
        stmt = select(Report).where(col(Report.confidential).is_(False))
        if tickets is not None:
            stmt = stmt.where(col(Report.ticket).in_(sorted(tickets)))
        else:
            if statuses is not None:
                stmt = stmt.where(col(Report.status).in_(sorted(statuses)))
            if categories is not None:
                stmt = stmt.where(col(Report.category_id).in_(sorted(categories)))
            stmt = _filtered(stmt, None, None, None, None, since, until)
        stmt = stmt.order_by(col(Report.created_at).desc(), col(Report.id).desc())
        return builtins.list((await self.session.exec(stmt.limit(limit).offset(offset))).all())

    async def add_link(self, report_id: int, channel: str, url: str, now: datetime) -> Attachment:
        """A media link given by an integration (Open311 media_url), kept and never fetched."""
        link = Attachment(
            report_id=report_id,
            channel=channel,
            platform_ref=url,
            fetch_status=FETCH_LINK,
            created_at=now,
        )
        self.session.add(link)
        await self.session.flush()
        return link

    async def links(self, report_ids: Collection[int]) -> dict[int, str]:
        """The first media link (`add_link`) of each of the reports that have one."""
        if not report_ids:
            return {}
        stmt = (
            select(Attachment)
            .where(col(Attachment.report_id).in_(sorted(report_ids)))
            .where(Attachment.fetch_status == FETCH_LINK)
            .order_by(col(Attachment.id).desc())
        )
        found: dict[int, str] = {}
        for link in (await self.session.exec(stmt)).all():
            found[link.report_id] = link.platform_ref  # the lowest id is written last
        return found

    async def last_notes(self, report_ids: Collection[int]) -> dict[int, str]:
        """The note of each report's latest status event (the reason of a rejection), if any."""
        if not report_ids:
            return {}
        stmt = (
            select(StatusEvent)
            .where(col(StatusEvent.report_id).in_(sorted(report_ids)))
            .order_by(col(StatusEvent.created_at), col(StatusEvent.id))
        )
        latest: dict[int, str] = {}
        for event in (await self.session.exec(stmt)).all():
            latest[event.report_id] = event.note or ""
        return latest

    async def timeline(self, report_id: int) -> builtins.list[StatusEvent]:
        """The report's status events, oldest first."""
        stmt = (
            select(StatusEvent)
            .where(StatusEvent.report_id == report_id)
            .order_by(col(StatusEvent.created_at), col(StatusEvent.id))
        )
        return builtins.list((await self.session.exec(stmt)).all())

    async def attachments(self, report_id: int) -> builtins.list[Attachment]:
        stmt = (
            select(Attachment).where(Attachment.report_id == report_id).order_by(col(Attachment.id))
        )
        return builtins.list((await self.session.exec(stmt)).all())

    async def attachment(self, attachment_id: int) -> Attachment | None:
        return await self.session.get(Attachment, attachment_id)

    async def attachment_counts(self, report_ids: builtins.list[int]) -> dict[int, tuple[int, int]]:
        """Per report: (photos and other images, voice notes), for a page of a list."""
        if not report_ids:
            return {}
        audio = col(Attachment.mime).startswith("audio/")
        stmt = (
            select(
                col(Attachment.report_id),
                func.count(),
                func.coalesce(func.sum(case((audio, 1), else_=0)), 0),
            )
            .where(col(Attachment.report_id).in_(report_ids))
            .group_by(col(Attachment.report_id))
        )
        return {
            int(rid): (int(n) - int(voices), int(voices))
            for rid, n, voices in (await self.session.exec(stmt)).all()
        }

    async def add_event(
        self,
        report_id: int,
        status: str,
        actor: str,
        note: str | None,
        now: datetime,
    ) -> StatusEvent:
        event = StatusEvent(
            report_id=report_id, status=str(status), actor=actor, note=note, created_at=now
        )
        self.session.add(event)
        await self.session.flush()
        return event

    async def set_status(self, report: Report, status: str, now: datetime) -> None:
        """Change the report's status (no lifecycle check: intake's rules decide that).

        Record the move with `add_event` too.
        """
        stmt = (
            update(Report)
            .where(col(Report.id) == _id(report))
            .values(status=str(status), updated_at=now)
        )
        await self.session.exec(stmt)
        report.status = str(status)
        report.updated_at = now


def _id(report: Report) -> int:
    if report.id is None:
        raise ValueError(f"report {report.ticket!r} has no id: it was never saved")
    return report.id


def _filtered(
    stmt: SelectOfScalar[_T],
    status: str | None,
    category: str | None,
    agency: str | None,
    channel: str | None,
    since: datetime | None,
    until: datetime | None,
) -> SelectOfScalar[_T]:
    if status is not None:
        stmt = stmt.where(Report.status == str(status))
    if category is not None:
        stmt = stmt.where(Report.category_id == category)
    if agency is not None:
        stmt = stmt.where(Report.agency_id == agency)
    if channel is not None:
        stmt = stmt.where(Report.channel == channel)
    if since is not None:
        stmt = stmt.where(col(Report.created_at) >= since)
    if until is not None:
        stmt = stmt.where(col(Report.created_at) < until)
    return stmt


def _in_kelurahan(stmt: SelectOfScalar[_T], code: str | None) -> SelectOfScalar[_T]:
    return stmt if code is None else stmt.where(Report.kelurahan_code == code)
