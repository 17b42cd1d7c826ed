"""The dashboard's reports: a filtered, paged list (/dashboard/reports), its CSV export
(/dashboard/reports.csv), one report with its photos and timeline (/dashboard/reports/{ticket})
and the stored photos and voice notes themselves (/dashboard/media/{id}).

Access as the dashboard's (`bot.web.dashboard`): the dashboard cookie (scoped to /dashboard, so
it covers these paths) or `Authorization: Bearer <api token>`. Filters: status, agency,
category, channel, kelurahan (code), since and until (dates, both included; or times); a bad
one is a 422 page saying which. A report reads as its officers' card does
(`bot.actions.reports.card_view`): the reporter of an anonymous report is never shown.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi import Path as PathParameter
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse

from bot.actions.reports import DeskEnv, card_view
from bot.analytics.stats import Names, parse_moment
from bot.core.ports import Clock
from bot.settings import Settings
from bot.web.dashboard import HEADERS, _authorised, _page_401, _render
from bot.web.spreadsheet import BOM, csv_lines
from intake.summary import CHANNEL_NAMES, channel_name, format_number
from intake.texts import Texts
from storage import Store
from storage.analytics import KNOWN_STATUSES
from storage.media import AUDIO_FORMATS, FORMATS, MediaStore
from storage.models import FETCH_STORED, Report

PAGE_SIZE = 50
MAX_PAGE = 200_000
MAX_ID = 2**53  # row ids; a larger number overflows the database's integers
CSV_BATCH = 500
FILTER_MAX_CHARS = 64
SNIPPET_CHARS = 90
SERVABLE = {mime for mime, _ in (*FORMATS.values(), *AUDIO_FORMATS.values())}
# The report page shows its photos and voice notes, from this server only.
REPORT_HEADERS = {
    **HEADERS,
    "Content-Security-Policy": HEADERS["Content-Security-Policy"].replace(
        "img-src data:", "img-src 'self' data:; media-src 'self'"
    ),
}
MEDIA_HEADERS = {
    "Cache-Control": "private, max-age=3600",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Referrer-Policy": "no-referrer",
}
CSV_COLUMNS = (
    "ticket", "created_at", "status", "status_name", "category", "category_name", "agency",
    "agency_name", "channel", "kelurahan_code", "kelurahan", "kecamatan", "address", "lat",
    "lon", "anonymous", "confidential", "photos", "voice_notes", "description", "updated_at",
)  # fmt: skip


class FilterError(ValueError):
    pass


@dataclass(frozen=True)
class ReportFilter:
    """What the list shows; every field None means "any"."""

    status: str | None = None
    agency: str | None = None
    category: str | None = None
    channel: str | None = None
    kelurahan: str | None = None
    since: str | None = None  # as given: "2026-03-01" or "2026-03-01T08:00"
    until: str | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> ReportFilter:
        values: dict[str, str | None] = {}
        for name in ("status", "agency", "category", "channel", "kelurahan", "since", "until"):
            value = (query.get(name) or "").strip()
            if len(value) > FILTER_MAX_CHARS:
                raise FilterError(f"{name}: at most {FILTER_MAX_CHARS} characters")
            values[name] = value or None
        if values["status"] is not None and values["status"] not in KNOWN_STATUSES:
            raise FilterError(f"status: choose one of {', '.join(KNOWN_STATUSES)}")
        return cls(**values)

    def window(self, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        """(since, until) for the database: `until` given as a date includes that day."""
        since = parse_moment(self.since, tz, name="since")
        until = parse_moment(self.until, tz, name="until")
        if until is not None and self.until is not None and len(self.until.strip()) == 10:
            until += timedelta(days=1)
        return since, until

    def query(self, **extra: object) -> str:
        """The filters (and `extra`) as a query string, without the empty ones."""
        pairs = [(k, v) for k, v in asdict(self).items() if v is not None]
        pairs += [(k, str(v)) for k, v in extra.items() if v is not None]
        return urlencode(pairs)


def _page_number(text: str | None) -> int:
    if text is None or not text.strip():
        return 1
    value = text.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise FilterError(f"page: a number from 1 to {MAX_PAGE}")
    return int(value)


class ReportPages:
    """The routes, on the store, the desk's environment (for cards) and the media store."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        desk_env: Callable[[], DeskEnv],
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.store = store
        self.desk_env = desk_env
        self.clock = clock
        self.tz = ZoneInfo(settings.service.timezone)
        self.names = Names(settings)
        self.texts = Texts(settings.texts)
        self.lang = settings.service.default_language
        self.media = MediaStore(Path(settings.storage.media_dir))

    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route(
            "/dashboard/reports", self.list_page, methods=["GET"], response_class=HTMLResponse
        )
        router.add_api_route("/dashboard/reports.csv", self.csv_export, methods=["GET"])
        router.add_api_route(
            "/dashboard/reports/{ticket}",
            self.report_page,
            methods=["GET"],
            response_class=HTMLResponse,
        )
        router.add_api_route("/dashboard/media/{attachment_id}", self.media_file, methods=["GET"])
        return router

    def _status_name(self, status: str) -> str:
        if status in KNOWN_STATUSES:
            return self.texts.desk(f"st_{status}", self.lang)
        return status

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def _filters(self, request: Request) -> tuple[ReportFilter, dict[str, Any]]:
        """The filter and the repository's keyword arguments for it; FilterError if bad."""
        try:
            chosen = ReportFilter.from_query(request.query_params)
            since, until = chosen.window(self.tz)
        except ValueError as exc:
            raise FilterError(str(exc)) from None
        return chosen, {
            "status": chosen.status,
            "agency": chosen.agency,
            "category": chosen.category,
            "channel": chosen.channel,
            "kelurahan": chosen.kelurahan,
            "since": since,
            "until": until,
        }

    # -- the list ---------------------------------------------------------------------------

    async def list_page(self, request: Request) -> Response:
        if not _authorised(request, self.settings, self.clock()):
            return _page_401()
        try:
            chosen, where = self._filters(request)
            page = _page_number(request.query_params.get("page"))
        except FilterError as exc:
            return _invalid(str(exc))
        async with self.store.unit_of_work() as uow:
            total = await uow.reports.count(**where)
            reports = await uow.reports.list(
                **where, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            )
            counts = await uow.reports.attachment_counts([r.id for r in reports if r.id])
        pages = max(1, math.ceil(total / PAGE_SIZE))
        rows = [self._row(r, counts.get(r.id or 0, (0, 0))) for r in reports]
        html = _render(
            "reports.html",
            city=self.settings.places.city_name or "Dashboard",
            rows=rows,
            total=format_number(total, "id"),
            page=page,
            pages=pages,
            previous=f"?{chosen.query(page=page - 1)}" if page > 1 else None,
            next=f"?{chosen.query(page=page + 1)}" if page < pages else None,
            csv_link=f"/dashboard/reports.csv?{chosen.query()}",
            chosen=asdict(chosen),
            options=self._options(),
        )
        return HTMLResponse(html, headers=HEADERS)

    def _row(self, report: Report, counts: tuple[int, int]) -> dict[str, Any]:
        text = " ".join(report.description.split())
        return {
            "ticket": report.ticket,
            "link": f"/dashboard/reports/{quote(report.ticket, safe='')}",
            "created": f"{self._local(report.created_at):%d-%m-%Y %H:%M}",
            "status": self._status_name(report.status),
            "category": self.names.category(report.category_id),
            "agency": self.names.of("agency", report.agency_id),
            "channel": channel_name(report.channel),
            "kelurahan": report.kelurahan or "-",
            "photos": counts[0],
            "anonymous": report.anonymous,
            "confidential": report.confidential,
            "snippet": text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…",
        }

    def _options(self) -> dict[str, list[tuple[str, str]]]:
        s = self.settings
        return {
            "status": [(st, self._status_name(st)) for st in KNOWN_STATUSES],
            "agency": [(a.id, a.name) for a in s.agencies],
            "category": [(c.id, c.name) for c in s.categories],
            "channel": list(CHANNEL_NAMES.items()),
            "kelurahan": sorted(((a.code, a.kelurahan) for a in s.areas), key=lambda o: o[1]),
        }

    # -- CSV ----------------------------------------------------------------------------------

    async def csv_export(self, request: Request) -> Response:
        """Every report the filters select, newest first, as CSV (spreadsheet-safe)."""
        now = self.clock()
        if not _authorised(request, self.settings, now):
            return _page_401()
        try:
            _, where = self._filters(request)
        except FilterError as exc:
            return _invalid(str(exc))
        if where["until"] is None:  # reports filed while the file is written stay out of it
            where["until"] = now
        name = f"laporan-{self._local(now):%Y%m%d-%H%M}.csv"
        return StreamingResponse(
            self._csv_chunks(where),
            media_type="text/csv; charset=utf-8",
            headers={
                **HEADERS,
                "Content-Disposition": f'attachment; filename="{name}"',
            },
        )

    async def _csv_chunks(self, where: Mapping[str, Any]) -> AsyncIterator[bytes]:
        yield (BOM + csv_lines([CSV_COLUMNS])).encode()
        offset = 0
        while True:
            async with self.store.unit_of_work() as uow:
                batch = await uow.reports.list(**where, limit=CSV_BATCH, offset=offset)
                counts = await uow.reports.attachment_counts([r.id for r in batch if r.id])
            if not batch:
                return
            yield csv_lines(self._csv_row(r, counts.get(r.id or 0, (0, 0))) for r in batch).encode()
            offset += len(batch)

    def _csv_row(self, r: Report, counts: tuple[int, int]) -> list[object]:
        return [
            r.ticket, self._local(r.created_at).isoformat(timespec="seconds"), r.status,
            self._status_name(r.status), r.category_id, self.names.category(r.category_id),
            r.agency_id, self.names.of("agency", r.agency_id), r.channel, r.kelurahan_code,
            r.kelurahan, r.kecamatan, r.address, r.lat, r.lon, r.anonymous, r.confidential,
            counts[0], counts[1], r.description,
            self._local(r.updated_at).isoformat(timespec="seconds"),
        ]  # fmt: skip

    # -- one report ---------------------------------------------------------------------------

    async def report_page(self, request: Request, ticket: str) -> Response:
        if not _authorised(request, self.settings, self.clock()):
            return _page_401()
        env = self.desk_env()
        async with self.store.unit_of_work() as uow:
            report = await uow.reports.get(ticket.strip().upper())
            if report is None or report.id is None:
                html = _render("error.html", message=f"Tidak ada laporan {ticket}.")
                return HTMLResponse(html, status_code=404, headers=HEADERS)
            view = await card_view(uow, env, report)
            attachments = await uow.reports.attachments(report.id)
            messages = await uow.desk.messages(report.id)
        media = [
            {
                "url": f"/dashboard/media/{a.id}",
                "audio": a.mime.startswith("audio/"),
                "stored": a.fetch_status == FETCH_STORED and a.stored_path is not None,
                "status": a.fetch_status,
            }
            for a in attachments
        ]
        timeline: list[tuple[datetime, int, dict[str, Any]]] = []
        for i, event in enumerate(view.events):
            timeline.append(
                (
                    event.at,
                    i,
                    {
                        "kind": "status",
                        "what": self._status_name(event.status),
                        "who": event.actor,
                        "text": event.note,
                        "photo": None,
                    },
                )
            )
        for i, m in enumerate(messages):
            officer = m.direction == "officer"
            timeline.append(
                (
                    m.created_at,
                    len(view.events) + i,
                    {
                        "kind": m.direction,
                        "what": "Balasan petugas" if officer else "Tambahan dari pelapor",
                        "who": (m.author_name or m.author) if officer else "pelapor",
                        "text": m.text,
                        "photo": f"/dashboard/media/{m.attachment_id}" if m.attachment_id else None,
                    },
                )
            )
        timeline.sort(key=lambda item: (item[0], item[1]))
        html = _render(
            "report.html",
            view=view,
            status=self._status_name(view.status),
            category=self.names.category(view.category_id),
            agency=self.names.of("agency", view.agency_id),
            channel=channel_name(view.channel),
            created=f"{self._local(view.created_at):%d-%m-%Y %H:%M}",
            point=(report.lat, report.lon) if report.lat is not None else None,
            media=media,
            timeline=[
                {"at": f"{self._local(at):%d-%m-%Y %H:%M}", **entry} for at, _, entry in timeline
            ],
        )
        return HTMLResponse(html, headers=REPORT_HEADERS)

    async def media_file(
        self, request: Request, attachment_id: Annotated[int, PathParameter(ge=1, le=MAX_ID)]
    ) -> Response:
        """A stored photo or voice note, to an authorised dashboard only."""
        if not _authorised(request, self.settings, self.clock()):
            return _page_401()
        async with self.store.unit_of_work() as uow:
            attachment = await uow.reports.attachment(attachment_id)
        if (
            attachment is None
            or attachment.fetch_status != FETCH_STORED
            or not attachment.stored_path
        ):
            return Response("no such file", status_code=404, headers=MEDIA_HEADERS)
        root = self.media.root.resolve()
        path = self.media.path_of(attachment.stored_path).resolve()
        if root not in path.parents or not path.is_file():
            return Response("no such file", status_code=404, headers=MEDIA_HEADERS)
        mime = attachment.mime if attachment.mime in SERVABLE else "application/octet-stream"
        return FileResponse(path, media_type=mime, headers=MEDIA_HEADERS)


def _invalid(message: str) -> HTMLResponse:
    return HTMLResponse(_render("error.html", message=message), status_code=422, headers=HEADERS)
