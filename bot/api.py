"""The REST API for dashboards and integrations: `Authorization: Bearer <api token>`."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from bot.service import Service
from storage.models import Report

router = APIRouter(prefix="/api")


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def require_token(request: Request) -> None:
    """Every route under /api needs one of the configured tokens, compared in constant time."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    tokens = service_of(request).settings.service.api_tokens
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


Authorized = Annotated[None, Depends(require_token)]


@router.get("/reports")
async def list_reports(
    request: Request,
    _: Authorized,
    status: str | None = None,
    category: str | None = None,
    agency: str | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    service = service_of(request)
    async with service.store.unit_of_work() as uow:
        reports = await uow.reports.list(
            status=status,
            category=category,
            agency=agency,
            channel=channel,
            since=_aware(since),
            until=_aware(until),
            limit=limit,
            offset=offset,
        )
        items = [await _report_json(uow, r) for r in reports]
    return {"reports": items, "limit": limit, "offset": offset}


@router.get("/reports/{ticket}")
async def get_report(request: Request, ticket: str, _: Authorized) -> dict[str, Any]:
    service = service_of(request)
    async with service.store.unit_of_work() as uow:
        report = await uow.reports.get(ticket.upper())
        if report is None or report.id is None:
            raise HTTPException(status_code=404, detail=f"no report with ticket {ticket}")
        body = await _report_json(uow, report)
        events = await uow.reports.timeline(report.id)
    body["timeline"] = [
        {
            "status": e.status,
            "at": e.created_at.isoformat(),
            "actor": "citizen" if report.anonymous and e.actor == "citizen" else e.actor,
            "note": e.note,
        }
        for e in events
    ]
    body["messages"] = []  # officer replies arrive with the officer desk
    return body


async def _report_json(uow: Any, report: Report) -> dict[str, Any]:
    assert report.id is not None
    photos = await uow.reports.attachments(report.id)
    return {
        "ticket": report.ticket,
        "status": report.status,
        "category": report.category_id,
        "agency": report.agency_id,
        "channel": report.channel,
        "description": report.description,
        "location": {
            "lat": report.lat,
            "lon": report.lon,
            "kelurahan": report.kelurahan,
            "kecamatan": report.kecamatan,
            "address": report.address,
        },
        "photos": len(photos),
        "anonymous": report.anonymous,
        "confidential": report.confidential,
        "created_at": report.created_at.isoformat(),
        "updated_at": report.updated_at.isoformat(),
    }


def _aware(value: datetime | None) -> datetime | None:
    """A filter time without a zone is taken as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
