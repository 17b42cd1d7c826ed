"""Open311 GeoReport v2 under /open311/v2: the city's categories as services, its reports as
service requests, and filing a report from an Open311 client (`[open311]` in configuration).

- `GET services.{json|xml}`: every configured category (service_code = category id).
- `GET services/{code}.{fmt}`: its definition: one optional attribute, `privacy`
  (multivaluelist: `anonim`, `rahasia`), so clients can file anonymous or confidential reports.
- `GET requests.{fmt}`: reports, newest first, filtered by `service_request_id` (comma list,
  overrides the rest), `service_code`, `start_date`/`end_date` (at most 90 days; by default the
  last 90), `status` (`open`, `closed`); `page_size` (at most 1000, the default) and `page`.
- `GET requests/{ticket}.{fmt}`: one report, as a list of one.
- `POST requests.{fmt}` (form body, `api_key` one of `open311.api_keys`): files a report through
  `bot.actions.filing`, exactly as a citizen's conversation does (ticket, access code, the
  officers' card); answers its ticket and a notice.

What is public: GET needs no key, so a confidential (rahasia) report is never listed and its
ticket answers 404; no request shows who reported (the spec's GET fields carry no identity).
Statuses: received, verified and in progress are `open`; resolved and rejected are `closed`;
`status_notes` is the status as citizens read it ("Ditolak: ..." with the reason).
Errors are the spec's document in the requested format, never a 500 for what a client sends.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bot.actions.filing import file_without_chat
from bot.analytics.stats import parse_moment
from bot.core.ports import Clock
from bot.settings import Settings
from bot.web.open311_form import (
    ANONYMOUS,
    CONFIDENTIAL,
    MAX_FIELD,
    PRIVACY,
    ReportForm,
    not_found,
    read_fields,
    refusal,
    service_of,
)
from bot.web.open311_format import FORMATS, Open311Error, error_response, render
from intake.catalog import Catalog
from intake.status import status_label
from intake.tickets import parse_ticket
from intake.types import ReportStatus
from storage import Store
from storage.models import Report

log = logging.getLogger(__name__)

PREFIX = "/open311/v2"
DISCOVERY = "/open311/discovery.{fmt}"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-04T00:00:00Z"  # when what these routes answer last changed
CHANNEL = "open311"  # the channel of reports filed here
SPAN = timedelta(days=90)  # the spec's longest (and default) start_date..end_date range
MAX_PAGE_SIZE = 1000  # the spec's default volume: "first 1000 requests"
MAX_PAGE = 10_000
OPEN = (ReportStatus.RECEIVED, ReportStatus.VERIFIED, ReportStatus.IN_PROGRESS)
CLOSED = (ReportStatus.RESOLVED, ReportStatus.REJECTED)
STATUSES = {"open": OPEN, "closed": CLOSED}
# The form fields of POST requests, for the OpenAPI document (the route reads the body itself).
_FORM_FIELDS = [
    *("api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string"),
    *("address_id", "email", "device_id", "account_id", "first_name", "last_name", "phone"),
    *("description", "media_url", "attribute[privacy][]"),
]
_POST_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {name: {"type": "string"} for name in _FORM_FIELDS},
                }
            }
        },
    }
}


class Open311:
    """The GeoReport v2 routes, on the store, the city's catalogue and `[open311]`."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        catalog: Catalog,
        *,
        wake: Callable[[], None],
        clock: Clock,
    ) -> None:
        self.config = settings.open311
        self.default_language = settings.service.default_language
        self.public_url = settings.service.public_url.rstrip("/")
        self.tz = ZoneInfo(settings.service.timezone)
        self.store = store
        self.catalog = catalog
        self.wake = wake  # after filing: the officers' card goes out
        self.clock = clock

    def router(self) -> APIRouter:
        router = APIRouter(tags=["open311"])
        route = router.add_api_route
        route(PREFIX + "/services.{fmt}", self.services, methods=["GET"])
        route(PREFIX + "/services/{code}.{fmt}", self.service_definition, methods=["GET"])
        route(PREFIX + "/requests.{fmt}", self.requests, methods=["GET"])
        route(
            PREFIX + "/requests.{fmt}", self.file_request, methods=["POST"], openapi_extra=_POST_DOC
        )
        route(PREFIX + "/requests/{request_id}.{fmt}", self.request, methods=["GET"])
        # Service Discovery, beside the versions it lists (wiki.open311.org/Service_Discovery).
        route(DISCOVERY, self.discovery, methods=["GET"])
        return router

    # -- the routes ----------------------------------------------------------------------------

    async def discovery(self, request: Request, fmt: str) -> Response:
        """Service Discovery: where the GeoReport v2 endpoint is, its formats, how to get a key."""
        lang = self._lang(request)
        try:
            self._check(fmt, None, lang)
        except Open311Error as exc:
            return error_response(fmt, exc)
        base = self.public_url or str(request.base_url).rstrip("/")
        body = {
            "changeset": CHANGESET,
            "contact": self.config.contact,
            "key_service": self._text("open311_key_service", lang),
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": base + PREFIX,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        }
        return render(fmt, "discovery", body)

    async def services(
        self, request: Request, fmt: str, jurisdiction_id: str | None = None
    ) -> Response:
        """GET Service List: the city's categories."""
        lang = self._lang(request)
        try:
            self._check(fmt, jurisdiction_id, lang)
            body = [self._service(c.id, lang) for c in self.catalog.categories]
        except Open311Error as exc:
            return error_response(fmt, exc)
        return render(fmt, "services", body)

    async def service_definition(
        self, request: Request, code: str, fmt: str, jurisdiction_id: str | None = None
    ) -> Response:
        """GET Service Definition: the privacy attribute every service has."""
        lang = self._lang(request)
        try:
            self._check(fmt, jurisdiction_id, lang)
            self._category(code, lang)
            body = {"service_code": code, "attributes": [self._privacy_attribute(lang)]}
        except Open311Error as exc:
            return error_response(fmt, exc)
        return render(fmt, "service_definition", body)

    async def requests(
        self,
        request: Request,
        fmt: str,
        jurisdiction_id: str | None = None,
        service_request_id: str | None = None,
        service_code: str | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
        status: str | None = None,
        page_size: str | None = None,
        page: str | None = None,
    ) -> Response:
        """GET Service Requests: non-confidential reports, newest first."""
        lang = self._lang(request)
        try:
            self._check(fmt, jurisdiction_id, lang)
            size = self._number(page_size, "page_size", MAX_PAGE_SIZE, lang)
            number = self._number(page, "page", MAX_PAGE, lang, default=1)
            ids = _listed(service_request_id)
            if ids:
                if len(ids) > MAX_PAGE_SIZE:
                    raise self._bad(
                        lang,
                        "open311_err_too_many",
                        field="service_request_id",
                        limit=MAX_PAGE_SIZE,
                    )
                tickets = [
                    t for t in (parse_ticket(i, self.catalog.ticket_prefix) for i in ids) if t
                ]
                query: dict[str, Any] = {"tickets": tickets}
            else:
                since, until = self._window(start_date, end_date, lang)
                query = {
                    "statuses": self._statuses(status, lang),
                    "categories": self._categories(service_code, lang),
                    "since": since,
                    "until": until,
                }
            body = await self._published(lang, limit=size, offset=(number - 1) * size, **query)
        except Open311Error as exc:
            return error_response(fmt, exc)
        return render(fmt, "service_requests", body)

    async def request(
        self, request: Request, request_id: str, fmt: str, jurisdiction_id: str | None = None
    ) -> Response:
        """GET Service Request: one non-confidential report (a list of one, as the spec has)."""
        lang = self._lang(request)
        try:
            self._check(fmt, jurisdiction_id, lang)
            ticket = parse_ticket(request_id, self.catalog.ticket_prefix)
            body = await self._published(lang, tickets=[ticket], limit=1) if ticket else []
            if not body:  # unknown, or confidential: the same answer
                raise not_found(
                    self.catalog, lang, "open311_err_request_unknown", value=request_id[:40]
                )
        except Open311Error as exc:
            return error_response(fmt, exc)
        return render(fmt, "service_requests", body)

    async def file_request(self, request: Request, fmt: str) -> Response:
        """POST Service Request: file a report, answer its ticket and what happens next."""
        lang = self._lang(request)
        try:
            fields = await read_fields(request, self.catalog, lang)  # first: too big is a 413
            if fmt not in FORMATS:
                raise self._bad(lang, "open311_err_format", value=fmt)
            form = ReportForm(fields, self.catalog, lang)
            self._require_key(form, request, lang)
            self._check(fmt, form.first("jurisdiction_id"), lang)
            draft, reporter, media_url = form.draft()
            now = self.clock()
            async with self.store.unit_of_work() as uow:
                filed = await file_without_chat(
                    uow,
                    self.catalog,
                    draft,
                    channel=CHANNEL,
                    reporter=reporter,
                    media_url=media_url,
                    now=now,
                )
        except Open311Error as exc:
            return error_response(fmt, exc)
        self.wake()
        notice = self._text(
            "open311_notice",
            lang,
            ticket=filed.report.ticket,
            agency=self.catalog.agency_name(filed.agency_id or None),
            days=self.catalog.verify_days,
            code=filed.code,
        )
        account = form.first("account_id")[:MAX_FIELD] or None
        body = [
            {
                "service_request_id": filed.report.ticket,
                "service_notice": notice,
                "account_id": account,
            }
        ]
        return render(fmt, "service_requests", body, status=201)

    # -- reading what was sent -----------------------------------------------------------------

    def _check(self, fmt: str, jurisdiction_id: str | None, lang: str) -> None:
        """The format is known and the jurisdiction (when one is configured and given) ours."""
        if fmt not in FORMATS:
            raise self._bad(lang, "open311_err_format", value=fmt)
        expected = self.config.jurisdiction_id
        given = (jurisdiction_id or "").strip()
        if expected and given and given != expected:
            raise not_found(
                self.catalog, lang, "open311_err_jurisdiction", value=given, expected=expected
            )

    def _require_key(self, form: ReportForm, request: Request, lang: str) -> None:
        given = (form.first("api_key") or request.query_params.get("api_key") or "").strip()
        keys = [k.get_secret_value() for k in self.config.api_keys]
        if not given or not _known_key(given, keys):
            raise Open311Error(403, self._text("open311_err_api_key", lang))

    def _category(self, code: str, lang: str) -> str:
        return service_of(self.catalog, code, lang)

    def _window(self, start: str | None, end: str | None, lang: str) -> tuple[datetime, datetime]:
        """start_date..end_date: the last 90 days unless given; at most 90 days long."""
        since = self._moment(start, "start_date", lang)
        until = self._moment(end, "end_date", lang)
        if since is None and until is None:
            until = self.clock()
        if since is None:
            assert until is not None
            since = until - SPAN
        if until is None:
            until = since + SPAN
        if until < since or until - since > SPAN:
            raise self._bad(lang, "open311_err_range", days=SPAN.days)
        return since, until + timedelta(microseconds=1)  # end_date is included

    def _moment(self, value: str | None, name: str, lang: str) -> datetime | None:
        try:
            return parse_moment(value, self.tz, name=name)
        except (ValueError, OverflowError):
            raise self._bad(lang, "open311_err_date", field=name) from None

    def _statuses(self, value: str | None, lang: str) -> list[str] | None:
        words = _listed(value)
        if not words:
            return None
        found: list[str] = []
        for word in words:
            if word.casefold() not in STATUSES:
                raise self._bad(lang, "open311_err_status", value=word[:40])
            found.extend(s.value for s in STATUSES[word.casefold()])
        return found

    def _categories(self, value: str | None, lang: str) -> list[str] | None:
        codes = _listed(value)
        if not codes:
            return None
        return [self._category(code, lang) for code in codes[:MAX_PAGE_SIZE]]

    def _number(
        self, value: str | None, name: str, limit: int, lang: str, *, default: int | None = None
    ) -> int:
        if value is None or not value.strip():
            return limit if default is None else default
        text = value.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 9 or not 1 <= int(text) <= limit:
            raise self._bad(lang, "open311_err_number", field=name, limit=limit)
        return int(text)

    # -- what is answered ----------------------------------------------------------------------

    def _service(self, category_id: str, lang: str) -> dict[str, Any]:
        category = self.catalog.category(category_id)
        assert category is not None
        agency = self.catalog.agency_name(category.agency)
        return {
            "service_code": category.id,
            "service_name": self.catalog.category_name(category.id, lang),
            "description": self.catalog.category_name(category.id, "en" if lang == "id" else "id"),
            "metadata": True,  # the privacy attribute
            "type": "realtime",  # the ticket is answered at once
            "keywords": ", ".join(category.keywords),
            "group": agency,
        }

    def _privacy_attribute(self, lang: str) -> dict[str, Any]:
        return {
            "variable": True,
            "code": PRIVACY,
            "datatype": "multivaluelist",
            "required": False,
            "datatype_description": self._text("open311_privacy_type", lang),
            "order": 1,
            "description": self._text("open311_privacy", lang),
            "values": [
                {"key": ANONYMOUS, "name": self._text("open311_privacy_anonymous", lang)},
                {"key": CONFIDENTIAL, "name": self._text("open311_privacy_confidential", lang)},
            ],
        }

    async def _published(self, lang: str, **query: Any) -> list[dict[str, Any]]:
        """The reports `query` finds (`ReportRepository.published`) as the spec's requests."""
        async with self.store.unit_of_work() as uow:
            reports = await uow.reports.published(**query)
            ids = [r.id for r in reports if r.id is not None]
            links = await uow.reports.links(ids)
            rejected = [r.id for r in reports if r.id and r.status == ReportStatus.REJECTED]
            reasons = await uow.reports.last_notes(rejected)
        return [
            self._request_json(r, links.get(r.id or 0), reasons.get(r.id or 0, ""), lang)
            for r in reports
        ]

    def _request_json(
        self, report: Report, media_url: str | None, reason: str, lang: str
    ) -> dict[str, Any]:
        """A report as the spec's request; never who reported it."""
        closed = report.status in {s.value for s in CLOSED}
        notes = status_label(
            self.catalog, report.status, lang, agency_id=report.agency_id, note=reason
        )
        return {
            "service_request_id": report.ticket,
            "status": "closed" if closed else "open",
            "status_notes": notes,
            "service_name": self.catalog.category_name(report.category_id, lang),
            "service_code": report.category_id,
            "description": report.description,
            "agency_responsible": self.catalog.agency_name(report.agency_id),
            "service_notice": None,
            "requested_datetime": self._w3c(report.created_at),
            "updated_datetime": self._w3c(report.updated_at),
            "expected_datetime": None,
            "address": self._address(report),
            "address_id": None,
            "zipcode": None,
            "lat": report.lat,
            "long": report.lon,
            "media_url": media_url,
        }

    def _address(self, report: Report) -> str:
        """Most specific first: what was typed, the kelurahan, the kecamatan, the city."""
        parts = [
            report.address or "",
            f"Kel. {report.kelurahan}" if report.kelurahan else "",
            f"Kec. {report.kecamatan}" if report.kecamatan else "",
            self.catalog.city_name,
        ]
        return ", ".join(p for p in parts if p)

    def _w3c(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).isoformat(timespec="seconds")

    def _lang(self, request: Request) -> str:
        wanted = request.headers.get("accept-language", "").strip().lower()
        for lang in ("en", "id"):
            if wanted.startswith(lang):
                return lang
        return self.default_language

    def _text(self, key: str, lang: str, **values: object) -> str:
        return self.catalog.texts.get(key, lang, variant="", **values)

    def _bad(self, lang: str, key: str, **values: object) -> Open311Error:
        return refusal(self.catalog, lang, key, **values)


def _listed(value: str | None) -> list[str]:
    """A comma-delimited argument's values ("open,closed")."""
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _known_key(given: str, keys: Sequence[str]) -> bool:
    """`given` is one of `keys`, compared in constant time."""
    return any(hmac.compare_digest(given.encode(), key.encode()) for key in keys if key)
