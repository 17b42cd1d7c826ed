"""The FastAPI application: health and readiness, the body size limit, JSON validation errors,
API docs that work offline (/docs, /redoc), and whatever routers the composition root
(`bot.compose`) hands it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from bot.web.address import NoNulInAddress
from bot.web.limits import BodySizeLimit

# /docs and /redoc load Swagger UI and ReDoc from here, shipped by fastapi-offline: no CDN.
DOCS_ASSETS = "/docs-assets"

# name -> check: True/False, or None when the dependency is not configured (left out)
ReadinessChecks = Mapping[str, Callable[[], Awaitable[bool | None]]]


def build_app(
    *,
    routers: Iterable[APIRouter],
    readiness: ReadinessChecks,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    body_limits: Mapping[str, int] | None = None,
) -> FastAPI:
    app = FastAPIOffline(
        title="lapor-intake",
        lifespan=lifespan,
        static_url=DOCS_ASSETS,
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from swagger.io
    )
    # Every route: 413 past 1 MiB, except the paths given (WhatsApp: 3 MB notifications).
    app.add_middleware(BodySizeLimit, limits=dict(body_limits or {}))
    app.add_middleware(NoNulInAddress)  # 400 for %00 in a path or query (PostgreSQL has no NUL)
    for router in routers:
        app.include_router(router)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        checks: dict[str, bool] = {}
        for name, check in readiness.items():
            result = await check()
            if result is not None:
                checks[name] = result
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors: list[dict[str, Any]] = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": "invalid request", "errors": errors}, status_code=422)

    return app
