"""The FastAPI application: health, webhooks and the REST API around one `Service`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from bot import api, dashboard
from bot.http_limits import BodySizeLimit
from bot.routes import sms as sms_route
from bot.routes import telegram as telegram_route
from bot.routes import whatsapp as whatsapp_route
from bot.service import Service
from bot.telegram import Poller
from bot.whatsapp import attach as attach_whatsapp


def create_app(service: Service, *, workers: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        attach_whatsapp(service)  # the sender learns the 24-hour window from the contacts
        await service.start(workers=workers)
        telegram = service.settings.channels.telegram
        poller = Poller.for_service(service)
        if workers and telegram.enabled and telegram.mode == "polling" and poller:
            # One worker of the deployment polls at a time (a Redis lease, when configured).
            service.run_worker(
                service.scaling.exclusive("telegram-polling", poller.run), "telegram-polling"
            )
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(title="lapor-intake", lifespan=lifespan)
    app.state.service = service
    # Every route: 413 past 1 MiB (WhatsApp documents notifications of up to 3 MB).
    app.add_middleware(BodySizeLimit, limits={whatsapp_route.PATH: whatsapp_route.MAX_BODY})
    app.include_router(api.router)
    app.include_router(dashboard.router)  # read-only figures, token-protected
    app.include_router(telegram_route.router)
    app.include_router(whatsapp_route.router)
    app.include_router(sms_route.router)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        checks = {"database": await service.db.ping()}
        redis_ok = await service.scaling.ping()
        if redis_ok is not None:
            checks["redis"] = redis_ok
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
