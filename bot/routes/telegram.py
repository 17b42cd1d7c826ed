"""POST /webhooks/telegram: Telegram's webhook, checked by its secret header."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.service import Service
from bot.telegram import handle_update
from channels.telegram import SECRET_HEADER, Signature, check_secret_token

router = APIRouter()

MAX_BODY = 1024 * 1024  # Telegram updates are small; a megabyte is plenty


@router.post("/webhooks/telegram")
async def telegram_webhook(request: Request) -> JSONResponse:
    service: Service = request.app.state.service
    config = service.settings.channels.telegram
    if not config.enabled or config.mode != "webhook":
        return JSONResponse({"detail": "the Telegram webhook is not enabled"}, status_code=404)
    secret = config.webhook_secret.get_secret_value()
    check = check_secret_token(secret, request.headers.get(SECRET_HEADER))
    if check is Signature.MISSING:
        return JSONResponse({"detail": f"missing {SECRET_HEADER}"}, status_code=401)
    if check is not Signature.VALID:
        return JSONResponse({"detail": f"wrong {SECRET_HEADER}"}, status_code=403)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"detail": "update too large"}, status_code=413)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return JSONResponse({"detail": "the body is not JSON"}, status_code=400)
    outcome = await handle_update(service, data)
    return JSONResponse({"ok": True, "outcome": outcome})
