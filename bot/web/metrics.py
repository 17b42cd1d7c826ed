"""`GET /metrics`: the Prometheus scrape, behind the same API token as the REST API
(`Authorization: Bearer <token>`; Prometheus sends it with `authorization.credentials_file`).

A token rather than "loopback only": behind a reverse proxy on the same host every request comes
from loopback, so an address says nothing about who asks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Response

from bot.analytics.metrics import CONTENT_TYPE, PrometheusTelemetry
from storage import Database
from storage.gauges import read_gauges

PATH = "/metrics"


@dataclass(frozen=True)
class MetricsEndpoint:
    telemetry: PrometheusTelemetry
    db: Database
    guard: Callable[..., Any]  # a FastAPI dependency refusing requests without an API token

    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route(
            PATH,
            self.scrape,
            methods=["GET"],
            dependencies=[Depends(self.guard)],
            include_in_schema=False,
        )
        return router

    async def scrape(self) -> Response:
        body = self.telemetry.exposition(await read_gauges(self.db))
        return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
