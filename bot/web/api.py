"""The REST API for dashboards and integrations: `Authorization: Bearer <api token>`."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, Field

from bot.actions import officer
from bot.actions.reports import ACTOR_API, ActionError, Actor, DeskEnv, find_report
from bot.analytics.stats import MOMENTS, StatsQuery, compute_stats, parse_moment, stats_reader
from bot.core.deadletters import describe
from bot.core.ports import Clock
from bot.settings import Settings
from channels.wire import clean_text
from intake.lifecycle import parse_status
from storage import Database, Store
from storage.models import Report


def _message_json(message: Any) -> dict[str, Any]:
    """An officer's reply or a citizen's addition (never who the citizen is)."""
    return {
        "direction": message.direction,  # "officer" | "citizen"
        "author": message.author,
        "author_name": message.author_name,
        "text": message.text,
        "photo": message.attachment_id is not None,
        "at": message.created_at.isoformat(),
    }


# Officer actions, with the same rules and effects as the Telegram desk (`bot.actions.officer`).

_ACTION_STATUS = {"not_found": 404, "refused": 409, "invalid": 422}
_NAME = r"^[A-Za-z0-9 ._@-]{1,64}$"


# Text as PostgreSQL can store it: without NUL characters (`channels.wire.clean_text`).
Text = Annotated[str, AfterValidator(clean_text)]


class StatusChange(BaseModel):
    status: Text | None = Field(default=None, description="verified, in_progress, resolved...")
    note: Text = Field(default="", max_length=2000, description="a reason is required to reject")
    agency: Text | None = Field(default=None, description="reassign to this agency id")
    category: Text | None = Field(
        default=None,
        max_length=64,
        description="reassign to this category id (and its agency); kept as a training example",
    )
    duplicate_of: Text | None = Field(default=None, description="reject as a duplicate of")
    actor: str | None = Field(default=None, pattern=_NAME, description="who acts, for the log")


class OfficerReply(BaseModel):
    text: Text = Field(min_length=1, max_length=4000)
    actor: str | None = Field(default=None, pattern=_NAME)


def _actor(name: str | None) -> Actor:
    return Actor(f"api:{name}" if name else ACTOR_API, name or "API")


async def _report_json(uow: Any, report: Report) -> dict[str, Any]:
    assert report.id is not None
    attachments = await uow.reports.attachments(report.id)
    photos = [a for a in attachments if not a.mime.startswith("audio/")]
    return {
        "ticket": report.ticket,
        "status": report.status,
        "category": report.category_id,
        "agency": report.agency_id,
        "channel": report.channel,
        "campaign": report.campaign,
        "description": report.description,
        "location": {
            "lat": report.lat,
            "lon": report.lon,
            "kelurahan": report.kelurahan,
            "kecamatan": report.kecamatan,
            "address": report.address,
        },
        "photos": len(photos),
        "voice_notes": len(attachments) - len(photos),
        "anonymous": report.anonymous,
        "confidential": report.confidential,
        "created_at": report.created_at.isoformat(),
        "updated_at": report.updated_at.isoformat(),
    }


def _aware(value: datetime | None, name: str) -> datetime | None:
    """A filter time without a zone is taken as UTC; 422 outside the years 1900 to 9000."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not MOMENTS[0] <= value <= MOMENTS[1]:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": "not between the years 1900 and 9000",
                    "type": "value_error",
                }
            ]
        )
    return value


MAX_OFFSET = 10_000_000  # far past any city's reports; a larger one overflows the database


class ReportApi:
    """The routes under /api, on what they use: the store, the officer actions' environment,
    the statistics database and the configuration's tokens and time zone."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        db: Database,
        *,
        desk_env: Callable[[], DeskEnv],
        wake: Callable[[], None],
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.store = store
        self.db = db
        self.desk_env = desk_env
        self.wake = wake  # after an action: the outbox dispatcher and the card editor
        self.clock = clock

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/api", dependencies=[Depends(self.require_token)])
        router.add_api_route("/reports", self.list_reports, methods=["GET"])
        router.add_api_route("/reports/{ticket}", self.get_report, methods=["GET"])
        router.add_api_route(
            "/reports/{ticket}/status", self.change_report_status, methods=["POST"]
        )
        router.add_api_route(
            "/reports/{ticket}/replies", self.reply_to_reporter, methods=["POST"], status_code=201
        )
        router.add_api_route("/stats", self.report_stats, methods=["GET"])
        router.add_api_route("/outbox", self.list_outbox, methods=["GET"])
        return router

    def require_token(self, request: Request) -> None:
        """Every route under /api needs one of the configured tokens, compared in constant time."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        tokens = self.settings.service.api_tokens
        given = token.strip().encode()
        valid = (
            scheme.lower() == "bearer"
            and given
            and any(hmac.compare_digest(given, t.get_secret_value().encode()) for t in tokens)
        )
        if not valid:
            raise HTTPException(
                status_code=401,
                detail="missing or invalid API token (Authorization: Bearer <token>)",
                headers={"WWW-Authenticate": "Bearer"},
            )

    async def list_reports(
        self,
        status: str | None = None,
        category: str | None = None,
        agency: str | None = None,
        channel: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> dict[str, Any]:
        async with self.store.unit_of_work() as uow:
            reports = await uow.reports.list(
                status=status,
                category=category,
                agency=agency,
                channel=channel,
                since=_aware(since, "since"),
                until=_aware(until, "until"),
                limit=limit,
                offset=offset,
            )
            items = [await _report_json(uow, r) for r in reports]
        return {"reports": items, "limit": limit, "offset": offset}

    async def get_report(self, ticket: str) -> dict[str, Any]:
        async with self.store.unit_of_work() as uow:
            report = await uow.reports.get(ticket.upper())
            if report is None or report.id is None:
                raise HTTPException(status_code=404, detail=f"no report with ticket {ticket}")
            body = await _report_json(uow, report)
            events = await uow.reports.timeline(report.id)
            messages = await uow.desk.messages(report.id)
            desk = await uow.desk.state(report.id)
            supporters = await uow.desk.supporters(report.id)
            original = (
                await uow.reports.get_by_id(desk.duplicate_of)
                if desk is not None and desk.duplicate_of is not None
                else None
            )
        body["timeline"] = [
            {
                "status": e.status,
                "at": e.created_at.isoformat(),
                "actor": "citizen" if report.anonymous and e.actor == "citizen" else e.actor,
                "note": e.note,
            }
            for e in events
        ]
        body["messages"] = [_message_json(m) for m in messages]
        body["supporters"] = len(supporters)
        body["rating"] = desk.rating if desk else None
        body["closed_at"] = desk.closed_at.isoformat() if desk and desk.closed_at else None
        body["duplicate_of"] = original.ticket if original else None
        return body

    async def change_report_status(self, ticket: str, body: StatusChange) -> dict[str, Any]:
        """Move a report (or reassign it, or mark it a duplicate): 409 with the reason if the
        lifecycle does not allow it; the citizen is notified as from the desk."""
        env = self.desk_env()
        actor = _actor(body.actor)
        try:
            async with self.store.unit_of_work() as uow:
                report = await find_report(uow, ticket, env)
                if body.duplicate_of:
                    message = await officer.mark_duplicate(
                        uow, env, report, body.duplicate_of, actor
                    )
                elif body.status:
                    target = parse_status(body.status)
                    if target is None:
                        raise ActionError(
                            "invalid", env.text("refused_unknown_status", value=body.status)
                        )
                    message = await officer.change_status(
                        uow, env, report, target.value, actor, body.note
                    )
                elif body.agency or body.category:
                    message = await officer.reassign(
                        uow, env, report, body.agency or "", actor, category_id=body.category
                    )
                else:
                    raise HTTPException(422, detail="give status, agency, category or duplicate_of")
                result = await _report_json(uow, report)
        except ActionError as exc:
            raise HTTPException(_ACTION_STATUS.get(exc.code, 409), detail=exc.message) from None
        self.wake()
        return {"report": result, "message": message}

    async def reply_to_reporter(self, ticket: str, body: OfficerReply) -> dict[str, Any]:
        """Relay a message to the report's citizen on their own channel."""
        env = self.desk_env()
        try:
            async with self.store.unit_of_work() as uow:
                report = await find_report(uow, ticket, env)
                message = await officer.reply_to_citizen(
                    uow, env, report, body.text, _actor(body.actor)
                )
                result = _message_json(message)
        except ActionError as exc:
            raise HTTPException(_ACTION_STATUS.get(exc.code, 409), detail=exc.message) from None
        self.wake()
        return {"message": result}

    async def list_outbox(
        self,
        status: Literal["dead", "waiting", "pending", "inflight", "sent"] = "dead",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    ) -> dict[str, Any]:
        """Replies in one outbox status, newest first (by default the dead letters: replies
        that will not go out unless retried with `lapor outbox --retry`), and how many rows
        each status holds."""
        rows = await self.store.outbox_listing([status], limit=limit, offset=offset)
        counts = await self.store.outbox_counts()
        return {
            "status": status,
            "counts": counts,
            "rows": [describe(row) for row in rows],
            "limit": limit,
            "offset": offset,
        }

    async def report_stats(
        self,
        since: str | None = None,
        until: str | None = None,
        by: Literal["channel", "category", "agency", "kelurahan"] | None = None,
    ) -> dict[str, Any]:
        """The figures of `lapor stats` (README, "Analytics"); since/until are dates or times,
        local time (self.timezone) unless they carry an offset."""
        tz = ZoneInfo(self.settings.service.timezone)
        try:
            query = StatsQuery(
                parse_moment(since, tz, name="since"), parse_moment(until, tz, name="until"), by
            )
        except ValueError as exc:
            where = "since" if str(exc).startswith("since") else "until"
            raise RequestValidationError(
                [{"loc": ("query", where), "msg": str(exc), "type": "value_error"}]
            ) from None
        return await compute_stats(stats_reader(self.db), self.settings, query, now=self.clock())
