"""Filing a new report: one path for every way a report arrives (a citizen's conversation on
any channel, an Open311 client's POST).

`file_new_report` gives the report its ticket and access code, routes it to its category's
agency and queues the officers' card, all in the caller's unit of work.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.actions.lookups import new_access_code
from bot.actions.reports import DeskEnv, report_filed, tell_group
from intake.catalog import Catalog
from intake.types import ChannelCapabilities, Reply, ReportDraft
from storage import UnitOfWork
from storage.models import Report

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Filed:
    report: Report
    code: str  # the reporter's access code (`cek <ticket> <code>` from any chat)
    agency_id: str  # "" when the category has no agency


async def file_new_report(
    uow: UnitOfWork,
    catalog: Catalog,
    draft: ReportDraft,
    *,
    channel: str,
    chat_id: str,
    contact_id: int | None,
    now: datetime,
    capabilities: Mapping[str, ChannelCapabilities] | None = None,
    campaign: str | None = None,
) -> Filed:
    """Store `draft` as a report (ticket, access code, "received") and queue its card for the
    agency's officers; `chat_id` "" means nobody can be messaged back (an Open311 client);
    `campaign`: the campaign that brought the conversation."""
    category = catalog.category(draft.category_id)
    agency_id = category.agency if category else None
    code = new_access_code()
    report = await uow.reports.file(
        draft,
        ticket_prefix=catalog.ticket_prefix,
        channel=channel,
        chat_id=chat_id,
        contact_id=contact_id,
        agency_id=agency_id,
        now=now,
        access_code=code,
        campaign=campaign,
    )
    log.info("report %s filed via %s", report.ticket, channel)
    await report_filed(uow, DeskEnv(catalog, now, dict(capabilities or {})), report)
    return Filed(report, code, agency_id or "")


@dataclass(frozen=True)
class Reporter:
    """Who an integration says filed a report (any part may be empty)."""

    name: str = ""
    email: str = ""
    phone: str = ""

    @property
    def key(self) -> str:
        """The contact's stable id: the e-mail address, else the phone number."""
        return self.email.lower() or self.phone

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.name, f"<{self.email}>" if self.email else "") if p)


async def file_without_chat(
    uow: UnitOfWork,
    catalog: Catalog,
    draft: ReportDraft,
    *,
    channel: str,
    reporter: Reporter,
    media_url: str,
    now: datetime,
) -> Filed:
    """A report from an integration (an Open311 client): nobody to message back, so citizens'
    notices are not queued (its client asks for the status). The reporter becomes a contact of
    `channel` when an e-mail address or phone number is given (officers see them on the card,
    unless the report is anonymous); a media link is kept and shown to the officers."""
    contact_id = None
    if reporter.key:
        contact = await uow.contacts.upsert(
            channel,
            reporter.key,
            "",
            display_name=reporter.display_name or None,
            phone=reporter.phone or None,
            inbound_at=now,
        )
        contact_id = contact.id
    filed = await file_new_report(
        uow, catalog, draft, channel=channel, chat_id="", contact_id=contact_id, now=now
    )
    report = filed.report
    if media_url and report.id is not None:
        await uow.reports.add_link(report.id, channel, media_url, now)
        env = DeskEnv(catalog, now)
        await tell_group(
            uow, env, report, Reply(env.text("open311_media", ticket=report.ticket, url=media_url))
        )
    return filed
