"""GET and POST /webhooks/whatsapp: Meta's subscription handshake and its signed notifications."""

from __future__ import annotations

import hmac
import json
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from bot.service import Service
from bot.whatsapp import handle_notification
from channels.whatsapp import SIGNATURE_HEADER, Signature, check_signature

log = logging.getLogger(__name__)

router = APIRouter()

PATH = "/webhooks/whatsapp"
MAX_BODY = 3 * 1024 * 1024  # Meta documents notifications of up to 3 MB


def _disabled() -> JSONResponse:
    return JSONResponse({"detail": "the WhatsApp webhook is not enabled"}, status_code=404)


@router.get(PATH)
async def whatsapp_handshake(request: Request) -> Response:
    """Echo ``hub.challenge`` when ``hub.verify_token`` is ours (Meta's subscription check)."""
    service: Service = request.app.state.service
    config = service.settings.channels.whatsapp
    if not config.enabled:
        return _disabled()
    params = request.query_params
    mode, challenge = params.get("hub.mode"), params.get("hub.challenge")
    if mode != "subscribe" or not challenge:
        return JSONResponse(
            {"detail": "expected hub.mode=subscribe and a hub.challenge"}, status_code=400
        )
    given = params.get("hub.verify_token", "").encode()
    expected = config.verify_token.get_secret_value().encode()
    if not given or not expected or not hmac.compare_digest(given, expected):
        return JSONResponse({"detail": "wrong hub.verify_token"}, status_code=403)
    return PlainTextResponse(challenge)


@router.post(PATH)
async def whatsapp_webhook(request: Request) -> JSONResponse:
    service: Service = request.app.state.service
    config = service.settings.channels.whatsapp
    if not config.enabled:
        return _disabled()
    header = request.headers.get(SIGNATURE_HEADER)
    if not header:
        return JSONResponse({"detail": f"missing {SIGNATURE_HEADER}"}, status_code=401)
    body = await _read_capped(request, MAX_BODY)
    if body is None:
        return JSONResponse({"detail": "notification too large"}, status_code=413)
    check = check_signature(config.app_secret.get_secret_value(), body, header)
    if check is not Signature.VALID:
        status = 401 if check is Signature.MISSING else 403
        return JSONResponse({"detail": f"wrong {SIGNATURE_HEADER}"}, status_code=status)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        # Signed by Meta but unreadable: a non-200 would only make Meta send it again.
        log.warning("a signed WhatsApp notification is not JSON; ignored")
        return JSONResponse({"ok": True, "ignored": ["not JSON"]})
    outcome = await handle_notification(service, data)
    return JSONResponse({"ok": True, **outcome})


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The raw body, or None as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
