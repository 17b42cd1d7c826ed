"""The officer desk's storage: lifecycle moves, cards in officers' groups, messages about a
report, supporters, ratings and reminders (tables under issue 6 in storage/models.py)."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from intake.types import MediaRef
from storage.dialects import insert_ignoring_conflicts
from storage.models import (
    FETCH_PENDING,
    OUTBOX_PENDING,
    OUTBOX_SENT,
    Attachment,
    DeskOfficer,
    OutboxMessage,
    Report,
    ReportCard,
    ReportDesk,
    ReportMessage,
    ReportSupporter,
    StatusEvent,
)

UNSET: Any = object()  # "leave the column as it is"


class DeskRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    # -- the report itself -----------------------------------------------------------------

    async def move_status(self, report: Report, expected: str, status: str, now: datetime) -> bool:
        """Set the status only if it still is `expected` (another officer may have been faster).

        Record the move with `ReportRepository.add_event` too.
        """
        stmt = (
            update(Report)
            .where(col(Report.id) == report.id, col(Report.status) == expected)
            .values(status=str(status), updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if (await self.session.exec(stmt)).rowcount != 1:
            return False
        report.status, report.updated_at = str(status), now
        return True

    async def set_agency(self, report: Report, agency_id: str, now: datetime) -> None:
        stmt = (
            update(Report)
            .where(col(Report.id) == report.id)
            .values(agency_id=agency_id, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        await self.session.exec(stmt)
        report.agency_id, report.updated_at = agency_id, now

    async def set_category(self, report: Report, category_id: str, now: datetime) -> None:
        stmt = (
            update(Report)
            .where(col(Report.id) == report.id)
            .values(category_id=category_id, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        await self.session.exec(stmt)
        report.category_id, report.updated_at = category_id, now

    async def touch(self, report: Report, now: datetime) -> None:
        stmt = (
            update(Report)
            .where(col(Report.id) == report.id)
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
        await self.session.exec(stmt)
        report.updated_at = now

    # -- desk state (rating, closing, reminders, duplicate) --------------------------------

    async def state(self, report_id: int) -> ReportDesk | None:
        stmt = select(ReportDesk).where(ReportDesk.report_id == report_id)
        return (await self.session.exec(stmt)).first()

    async def states(self, report_ids: Collection[int]) -> dict[int, ReportDesk]:
        if not report_ids:
            return {}
        stmt = select(ReportDesk).where(col(ReportDesk.report_id).in_(list(report_ids)))
        return {row.report_id: row for row in (await self.session.exec(stmt)).all()}

    async def update_state(self, report_id: int, now: datetime, **values: Any) -> ReportDesk:
        """Create the report's desk row if needed and set `values` on it."""
        stmt = insert_ignoring_conflicts(self.dialect, ReportDesk, "report_id").values(
            report_id=report_id, updated_at=now
        )
        await self.session.exec(stmt)
        if values:
            change = (
                update(ReportDesk)
                .where(col(ReportDesk.report_id) == report_id)
                .values(updated_at=now, **values)
                .execution_options(synchronize_session=False)
            )
            await self.session.exec(change)
        stmt_get = (
            select(ReportDesk)
            .where(ReportDesk.report_id == report_id)
            .execution_options(populate_existing=True)
        )
        return (await self.session.exec(stmt_get)).one()

    async def close(self, report_id: int, reason: str, now: datetime) -> bool:
        """Close a resolved report once; False if it was closed already."""
        await self.update_state(report_id, now)
        stmt = (
            update(ReportDesk)
            .where(col(ReportDesk.report_id) == report_id, col(ReportDesk.closed_at).is_(None))
            .values(closed_at=now, close_reason=reason, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.exec(stmt)).rowcount == 1

    async def mark_reminded(self, report_id: int, column: str, now: datetime) -> bool:
        """Note that a reminder went out (`column`: "verify_reminded_at" or
        "respond_reminded_at"); False if it had already: each is sent once."""
        if column not in ("verify_reminded_at", "respond_reminded_at"):
            raise ValueError(f"not a reminder column: {column}")
        await self.update_state(report_id, now)
        stmt = (
            update(ReportDesk)
            .where(col(ReportDesk.report_id) == report_id, getattr(ReportDesk, column).is_(None))
            .values({column: now, "updated_at": now})
            .execution_options(synchronize_session=False)
        )
        return (await self.session.exec(stmt)).rowcount == 1

    async def last_moves(
        self, report_ids: Collection[int], statuses: Iterable[str]
    ) -> dict[tuple[int, str], datetime]:
        """When each report last moved to each of `statuses`."""
        if not report_ids:
            return {}
        stmt = (
            select(
                col(StatusEvent.report_id),
                col(StatusEvent.status),
                func.max(col(StatusEvent.created_at)),
            )
            .where(
                col(StatusEvent.report_id).in_(list(report_ids)),
                col(StatusEvent.status).in_(list(statuses)),
            )
            .group_by(col(StatusEvent.report_id), col(StatusEvent.status))
        )
        found: dict[tuple[int, str], datetime] = {}
        for report_id, status, at in (await self.session.exec(stmt)).all():
            if at is not None:  # max() keeps the column's type: an aware UTC datetime
                found[(report_id, status)] = at
        return found

    # -- queries ---------------------------------------------------------------------------

    async def open_reports(
        self,
        statuses: Collection[str],
        *,
        agencies: Collection[str] | None = None,
        include_unassigned: bool = False,
        limit: int = 50,
    ) -> builtins.list[Report]:
        """Reports in `statuses`, oldest first; optionally only of `agencies`."""
        stmt = select(Report).where(col(Report.status).in_(list(statuses)))
        if agencies is not None:
            wanted = col(Report.agency_id).in_(list(agencies))
            stmt = stmt.where(
                or_(wanted, col(Report.agency_id).is_(None)) if include_unassigned else wanted
            )
        stmt = stmt.order_by(col(Report.created_at), col(Report.id)).limit(limit)
        return builtins.list((await self.session.exec(stmt)).all())

    async def similar_candidates(
        self, category_id: str, statuses: Collection[str], since: datetime, limit: int = 200
    ) -> builtins.list[Report]:
        """Open, non-confidential reports of a category filed since `since`, newest first."""
        stmt = (
            select(Report)
            .where(
                Report.category_id == category_id,
                col(Report.status).in_(list(statuses)),
                col(Report.confidential).is_(False),
                col(Report.created_at) >= since,
            )
            .order_by(col(Report.created_at).desc())
            .limit(limit)
        )
        return builtins.list((await self.session.exec(stmt)).all())

    async def sla_candidates(
        self, statuses: Collection[str], limit: int = 1000
    ) -> builtins.list[tuple[Report, ReportDesk | None]]:
        """Reports in `statuses` that are not closed, with their desk row (oldest first)."""
        desk = aliased(ReportDesk)
        stmt = (
            select(Report, desk)
            .join(desk, col(desk.report_id) == col(Report.id), isouter=True)
            .where(col(Report.status).in_(list(statuses)), col(desk.closed_at).is_(None))
            .order_by(col(Report.created_at), col(Report.id))
            .limit(limit)
        )
        return [(r, d) for r, d in (await self.session.exec(stmt)).all()]

    async def awaiting_rating(self, channel: str, chat_id: str, status: str) -> Report | None:
        """The reporter's most recently resolved report that is not closed yet."""
        desk = aliased(ReportDesk)
        stmt = (
            select(Report)
            .join(desk, col(desk.report_id) == col(Report.id), isouter=True)
            .where(
                Report.channel == channel,
                Report.chat_id == chat_id,
                Report.status == status,
                col(desk.closed_at).is_(None),
            )
            .order_by(col(Report.updated_at).desc(), col(Report.id).desc())
            .limit(1)
        )
        return (await self.session.exec(stmt)).first()

    # -- cards -----------------------------------------------------------------------------

    async def add_card(
        self,
        report_id: int,
        chat_id: str,
        now: datetime,
        *,
        outbox_id: int | None,
        media_outbox_id: int | None = None,
        message_id: str | None = None,
    ) -> ReportCard:
        card = ReportCard(
            report_id=report_id,
            chat_id=chat_id,
            outbox_id=outbox_id,
            media_outbox_id=media_outbox_id,
            message_id=message_id,
            created_at=now,
            updated_at=now,
        )
        self.session.add(card)
        await self.session.flush()
        return card

    async def cards(self, report_id: int, *, active_only: bool = True) -> builtins.list[ReportCard]:
        stmt = select(ReportCard).where(ReportCard.report_id == report_id)
        if active_only:
            stmt = stmt.where(col(ReportCard.active).is_(True))
        return builtins.list((await self.session.exec(stmt.order_by(col(ReportCard.id)))).all())

    async def card(self, card_id: int) -> ReportCard | None:
        return await self.session.get(ReportCard, card_id)

    async def card_at(self, chat_id: str, message_id: str) -> ReportCard | None:
        """The card shown by message `message_id` of `chat_id` (its text, photos or pin)."""
        sent = aliased(OutboxMessage)
        stmt = (
            select(ReportCard)
            .join(
                sent,
                or_(
                    col(sent.id) == col(ReportCard.outbox_id),
                    col(sent.id) == col(ReportCard.media_outbox_id),
                ),
                isouter=True,
            )
            .where(
                ReportCard.chat_id == chat_id,
                or_(
                    col(ReportCard.message_id) == message_id,
                    col(ReportCard.media_message_id) == message_id,
                    and_(col(sent.chat_id) == chat_id, col(sent.external_id) == message_id),
                ),
            )
            .order_by(col(ReportCard.id).desc())
            .limit(1)
        )
        return (await self.session.exec(stmt)).first()

    async def set_card(self, card_id: int, now: datetime, **values: Any) -> None:
        stmt = (
            update(ReportCard)
            .where(col(ReportCard.id) == card_id)
            .values(updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
        await self.session.exec(stmt)

    async def refresh_cards(
        self, report_id: int, now: datetime, *, menu: str | None = UNSET, chat_id: str | None = None
    ) -> int:
        """Ask for the report's active cards (in `chat_id` only, if given) to be re-rendered."""
        values: dict[str, Any] = {"refresh_due_at": now, "attempts": 0, "updated_at": now}
        if menu is not UNSET:
            values["menu"] = menu
        stmt = update(ReportCard).where(
            col(ReportCard.report_id) == report_id, col(ReportCard.active).is_(True)
        )
        if chat_id is not None:
            stmt = stmt.where(col(ReportCard.chat_id) == chat_id)
        result = await self.session.exec(
            stmt.values(**values).execution_options(synchronize_session=False)
        )
        return result.rowcount

    async def claim_card(self, card_id: int, due_at: datetime | None, now: datetime) -> bool:
        """Take a due card for re-rendering: clear its due time, unless it changed since read
        (another worker took it, or a newer change asked again: that one is done later)."""
        stmt = (
            update(ReportCard)
            .where(col(ReportCard.id) == card_id, col(ReportCard.refresh_due_at) == due_at)
            .values(refresh_due_at=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.exec(stmt)).rowcount == 1

    async def due_cards(self, now: datetime, limit: int = 20) -> builtins.list[ReportCard]:
        stmt = (
            select(ReportCard)
            .where(col(ReportCard.refresh_due_at) <= now)
            .order_by(col(ReportCard.refresh_due_at), col(ReportCard.id))
            .limit(limit)
        )
        return builtins.list((await self.session.exec(stmt)).all())

    async def learn_message_ids(self) -> int:
        """Copy the Telegram message ids of sent cards from their outbox rows."""
        learned = 0
        for column, source in (
            (ReportCard.message_id, ReportCard.outbox_id),
            (ReportCard.media_message_id, ReportCard.media_outbox_id),
        ):
            sent = (
                select(col(OutboxMessage.external_id))
                .where(
                    col(OutboxMessage.id) == col(source),
                    col(OutboxMessage.status) == OUTBOX_SENT,
                )
                .scalar_subquery()
            )
            stmt = (
                update(ReportCard)
                .where(col(column).is_(None), col(source).is_not(None), sent.is_not(None))
                .values({column: sent})
                .execution_options(synchronize_session=False)
            )
            learned += (await self.session.exec(stmt)).rowcount
        return learned

    async def outbox_row(self, outbox_id: int) -> OutboxMessage | None:
        stmt = (
            select(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .execution_options(populate_existing=True)
        )
        return (await self.session.exec(stmt)).first()

    async def replace_pending_payload(self, outbox_id: int, payload: dict[str, Any]) -> bool:
        """Change what a not-yet-claimed outbox row will send (a card not sent yet)."""
        stmt = (
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == outbox_id, col(OutboxMessage.status) == OUTBOX_PENDING)
            .values(payload=payload)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.exec(stmt)).rowcount == 1

    # -- messages and photos ---------------------------------------------------------------

    async def add_message(
        self,
        report_id: int,
        direction: str,
        author: str,
        text: str,
        now: datetime,
        *,
        author_name: str | None = None,
        attachment_id: int | None = None,
    ) -> ReportMessage:
        message = ReportMessage(
            report_id=report_id,
            direction=direction,
            author=author,
            author_name=author_name,
            text=text,
            attachment_id=attachment_id,
            created_at=now,
        )
        self.session.add(message)
        await self.session.flush()
        return message

    async def messages(self, report_id: int) -> builtins.list[ReportMessage]:
        stmt = (
            select(ReportMessage)
            .where(ReportMessage.report_id == report_id)
            .order_by(col(ReportMessage.created_at), col(ReportMessage.id))
        )
        return builtins.list((await self.session.exec(stmt)).all())

    async def message_counts(self, report_id: int) -> dict[str, int]:
        stmt = (
            select(col(ReportMessage.direction), func.count())
            .where(ReportMessage.report_id == report_id)
            .group_by(col(ReportMessage.direction))
        )
        return {d: int(n) for d, n in (await self.session.exec(stmt)).all()}

    async def add_attachment(self, report_id: int, media: MediaRef, now: datetime) -> Attachment:
        """A photo added after filing; the media fetcher downloads it like the others."""
        attachment = Attachment(
            report_id=report_id,
            channel=media.channel,
            platform_ref=media.ref,
            mime=media.mime,
            size=media.size,
            document=media.document,
            fetch_status=FETCH_PENDING,
            created_at=now,
        )
        self.session.add(attachment)
        await self.session.flush()
        return attachment

    # -- supporters ------------------------------------------------------------------------

    async def add_supporter(
        self, report_id: int, channel: str, chat_id: str, contact_id: int | None, now: datetime
    ) -> bool:
        """Record a supporter; False if they already were one."""
        stmt = (
            insert_ignoring_conflicts(
                self.dialect, ReportSupporter, "report_id", "channel", "chat_id"
            )
            .values(
                report_id=report_id,
                channel=channel,
                chat_id=chat_id,
                contact_id=contact_id,
                created_at=now,
            )
            .returning(col(ReportSupporter.id))
        )
        return (await self.session.exec(stmt)).first() is not None

    async def supporters(self, report_id: int) -> builtins.list[ReportSupporter]:
        stmt = (
            select(ReportSupporter)
            .where(ReportSupporter.report_id == report_id)
            .order_by(col(ReportSupporter.id))
        )
        return builtins.list((await self.session.exec(stmt)).all())

    # -- officers --------------------------------------------------------------------------

    async def remember_officer(self, user_id: str, display_name: str, now: datetime) -> None:
        officer = await self.session.get(DeskOfficer, user_id)
        if officer is None:
            stmt = insert_ignoring_conflicts(self.dialect, DeskOfficer, "user_id").values(
                user_id=user_id, display_name=display_name, updated_at=now
            )
            await self.session.exec(stmt)
        elif officer.display_name != display_name:
            officer.display_name, officer.updated_at = display_name, now
            self.session.add(officer)
            await self.session.flush()

    async def officer_names(self, user_ids: Collection[str]) -> dict[str, str]:
        if not user_ids:
            return {}
        stmt = select(DeskOfficer).where(col(DeskOfficer.user_id).in_(list(user_ids)))
        return {o.user_id: o.display_name for o in (await self.session.exec(stmt)).all()}
