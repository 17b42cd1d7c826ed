"""What a citizen sees when they check a ticket."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from intake.catalog import Catalog
from intake.types import Reply, ReportStatus


@dataclass(frozen=True)
class StatusEvent:
    at: datetime
    status: str
    note: str = ""


@dataclass(frozen=True)
class StatusView:
    """A report as the pipeline found it, and whether the asker is its reporter."""

    ticket: str
    status: str
    category_id: str | None
    agency_id: str | None
    confidential: bool
    asked_by_reporter: bool
    events: Sequence[StatusEvent] = ()


def status_label(
    catalog: Catalog, status: str, lang: str, *, agency_id: str | None, note: str = ""
) -> str:
    """The Indonesian (or English) label of a status, as DESIGN.md lists them."""
    try:
        key = f"status_{ReportStatus(status).value}"
    except ValueError:
        return status
    return catalog.texts.get(key, lang, agency=catalog.agency_name(agency_id), reason=note or "-")


def render_status(view: StatusView | None, ticket: str, lang: str, catalog: Catalog) -> Reply:
    texts = catalog.texts
    if view is None:
        return Reply(texts.get("check_not_found", lang, ticket=ticket))
    if view.confidential and not view.asked_by_reporter:
        return Reply(texts.get("check_confidential", lang, ticket=view.ticket))
    last_note = view.events[-1].note if view.events else ""
    text = texts.get(
        "check_status",
        lang,
        ticket=view.ticket,
        category=catalog.category_name(view.category_id, lang),
        status=status_label(catalog, view.status, lang, agency_id=view.agency_id, note=last_note),
    )
    if view.asked_by_reporter and view.events:
        lines = [texts.get("check_timeline_header", lang)]
        for event in view.events:
            when = event.at.astimezone(catalog.tz).strftime("%d-%m-%Y %H:%M")
            label = status_label(
                catalog, event.status, lang, agency_id=view.agency_id, note=event.note
            )
            line = f"{when} {label}"
            if event.note and event.status != ReportStatus.REJECTED:
                line += f" ({event.note})"
            lines.append(line)
        text += "\n" + "\n".join(lines)
    return Reply(text)
