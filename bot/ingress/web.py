"""The web chat's routes (issue 15): the page at ``GET /chat`` and what it calls.

- ``GET /chat`` (``?lang=id|en``, ``&campaign=<id>``: a campaign's link, passed along with each
  message): the page; a browser without a valid session gets a new one
  (a random token in an HttpOnly, SameSite=Lax cookie, `channels.web.session_days` long).
- ``GET /chat/static/{chat.js,chat.css}``: its script and style (nothing from elsewhere).
- ``POST /chat/messages``: one message (text, a clicked choice, or the browser's location) as
  JSON, through the pipeline like any platform's webhook (stored in the inbox, deduplicated on
  the page's message id, processed) before the answer.
- ``POST /chat/photos``: one photo (multipart: `id`, `lang`, `photo`): its type and size are
  checked, then it is cleaned (EXIF removed) and stored in the media store before the pipeline
  sees it, so an accepted photo is never lost; the media fetcher later attaches it to the
  report through the web sender, the same way every channel's photos are attached.
- ``GET /chat/messages?after=<id>``: the replies delivered since the page's cursor.

Everything answers 404 unless `channels.web.enabled`. Posts need our own origin (403), every
call but the page needs the session cookie (401); a body we cannot use is a 400 naming the
problem. Message rates are limited like every channel's (the pipeline's per-sender limit);
new sessions per client address and photos per session are limited in each process.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.datastructures import UploadFile

from bot.actions.lookups import LookupLimit
from bot.core.pipeline import Pipeline
from bot.core.ports import Clock
from bot.settings import WebConfig
from channels.base import Signature
from channels.web import WebSender, links, payloads, session
from channels.web import page as web_page
from channels.wire import BadPayload, load_json
from intake.catalog import Catalog
from storage.media import MediaRejected, MediaStore
from storage.web import WebChatStore

log = logging.getLogger(__name__)

PATH = links.CHAT_PATH
MESSAGES_PATH = f"{PATH}/messages"
PHOTOS_PATH = f"{PATH}/photos"
REPLIES_PER_POLL = 50
MAX_CURSOR = 2**53  # what the page's JavaScript counts exactly
MULTIPART_OVERHEAD = 16 * 1024  # the form's other fields and boundaries, beside the photo
SESSIONS_PER_ADDRESS = 30  # new sessions one client address may open ...
PHOTOS_PER_SESSION = 30  # ... and photos one session may send ...
LIMIT_WINDOW = timedelta(minutes=10)  # ... within this long
_STORED_PATH = re.compile(r"[0-9a-f]{2}/[0-9a-f]{64}\.(?:jpg|png|webp|gif)")


class WebIngress:
    def __init__(
        self,
        config: WebConfig,
        pipeline: Pipeline,
        chats: WebChatStore,
        media: MediaStore,
        catalog: Catalog,
        *,
        clock: Clock,
    ) -> None:
        self.config = config
        self.pipeline = pipeline
        self.chats = chats
        self.media = media
        self.catalog = catalog
        self.clock = clock
        self.max_photo_bytes = min(config.max_photo_mb * 1024 * 1024, media.max_bytes)
        # Sliding-window counters (the lookups' limiter, counting what each key did).
        self._new_sessions = LookupLimit(SESSIONS_PER_ADDRESS, LIMIT_WINDOW)
        self._photos = LookupLimit(PHOTOS_PER_SESSION, LIMIT_WINDOW)

    def sender(self) -> WebSender:
        """The outbox's sender for the web channel: replies go to the chat's mailbox."""
        return WebSender(self.chats, self._read_stored, self.clock)

    def body_limits(self) -> dict[str, int]:
        """Request body limits beyond the app's default: a photo upload."""
        return {PHOTOS_PATH: self.max_photo_bytes + MULTIPART_OVERHEAD}

    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route(PATH, self.page, methods=["GET"], include_in_schema=False)
        router.add_api_route(
            f"{PATH}/static/{{name}}", self.static, methods=["GET"], include_in_schema=False
        )
        router.add_api_route(MESSAGES_PATH, self.post_message, methods=["POST"])
        router.add_api_route(MESSAGES_PATH, self.replies, methods=["GET"])
        router.add_api_route(PHOTOS_PATH, self.post_photo, methods=["POST"])
        return router

    # -- the page ---------------------------------------------------------------------------

    def _language(self, request: Request, asked: str | None) -> str:
        if asked in payloads.LANGUAGES:
            return asked
        accepted = request.headers.get("accept-language", "").strip().lower()
        if accepted.startswith("en"):
            return "en"
        if accepted.startswith("id"):
            return "id"
        return self.catalog.default_language

    def _texts(self, lang: str) -> dict[str, str]:
        texts = self.catalog.texts
        city, mb = self.catalog.city_name, self.config.max_photo_mb
        return {key: texts.get(key, lang, city=city, mb=mb) for key in WEB_TEXTS}

    async def page(
        self, request: Request, lang: str | None = None, campaign: str | None = None
    ) -> Response:
        if not self.config.enabled:
            return _refuse(404, "the web chat is not enabled")
        language = self._language(request, lang)
        texts = self._texts(language)
        now = self.clock()
        token = request.cookies.get(session.COOKIE)
        new_token = None
        if await self._chat_of(token, now) is None:
            address = request.client.host if request.client else "-"
            if self._new_sessions.blocked(payloads.CHANNEL, address, now):
                return HTMLResponse(texts["web_too_many"], status_code=429)
            self._new_sessions.refused(payloads.CHANNEL, address, now)  # counts one more
            new_token = session.new_token()
            chat_id = session.chat_id_of(new_token)
            assert chat_id is not None
            days = timedelta(days=self.config.session_days)
            await self.chats.open_session(chat_id, now, now + days)
        html = web_page.render_page(
            PATH,
            language,
            texts,
            max_photo_bytes=self.max_photo_bytes,
            campaign=payloads.campaign(campaign),
        )
        response = HTMLResponse(html, headers=web_page.SECURITY_HEADERS)
        if new_token is not None:
            response.set_cookie(
                session.COOKIE,
                new_token,
                max_age=self.config.session_days * 86400,
                path=PATH,
                secure=request.url.scheme == "https",
                httponly=True,
                samesite="lax",
            )
        return response

    async def static(self, name: str) -> Response:
        if not self.config.enabled:
            return _refuse(404, "the web chat is not enabled")
        content = web_page.asset(name)
        if content is None:
            return _refuse(404, "no such file")
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=3600"}
        return Response(content, media_type=web_page.ASSETS[name], headers=headers)

    # -- what the page sends ----------------------------------------------------------------

    async def _chat_of(self, token: str | None, now: datetime) -> str | None:
        """The chat id of a cookie's token while its session lasts, else None."""
        chat_id = session.chat_id_of(token)
        if chat_id is None:
            return None
        expires = await self.chats.session_expiry(chat_id)
        return chat_id if expires is not None and expires > now else None

    async def _caller(self, request: Request, *, posting: bool) -> str | JSONResponse:
        """The caller's chat id, or the answer refusing them."""
        if not self.config.enabled:
            return _refuse(404, "the web chat is not enabled")
        if posting:
            origin = session.same_origin(
                request.headers.get("origin"),
                request.headers.get("sec-fetch-site"),
                request.headers.get("host"),
                self.config.allowed_origins,
            )
            if origin is not Signature.VALID:
                return _refuse(403, "only the chat page itself may post here (Origin)")
        chat_id = await self._chat_of(request.cookies.get(session.COOKIE), self.clock())
        if chat_id is None:
            return _refuse(401, "no chat session (or it ended): open the chat page again")
        return chat_id

    async def post_message(self, request: Request) -> JSONResponse:
        chat_id = await self._caller(request, posting=True)
        if isinstance(chat_id, JSONResponse):
            return chat_id
        try:
            data = load_json(await request.body())
            message = payloads.parse_message(data, chat_id, self.clock())
        except BadPayload as exc:
            return _refuse(400, f"unusable message: {exc}")
        accepted = await self.pipeline.accept(message, raw=data)
        return JSONResponse({"ok": True, "duplicate": accepted.inbox_id is None})

    async def post_photo(self, request: Request) -> JSONResponse:
        chat_id = await self._caller(request, posting=True)
        if isinstance(chat_id, JSONResponse):
            return chat_id
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return _refuse(400, "unusable photo: send multipart/form-data with id and photo")
        now = self.clock()
        try:
            form = await request.form(max_files=1, max_fields=4, max_part_size=1024)
        except Exception as exc:  # a malformed multipart body (python-multipart's errors vary)
            if getattr(exc, "status_code", None) == 413:
                raise
            return _refuse(400, "unusable photo: a malformed multipart body")
        try:
            upload = form.get("photo")
            client_id = payloads.message_id(form.get("id"))
            lang = payloads.language(form.get("lang"))
            if not isinstance(upload, UploadFile):
                raise BadPayload("photo: a file is expected")
            content = await upload.read(self.max_photo_bytes + 1)
        except BadPayload as exc:
            return _refuse(400, f"unusable photo: {exc}")
        finally:
            await form.close()
        if len(content) > self.max_photo_bytes:
            limit = self.config.max_photo_mb
            return _refuse(413, f"photo larger than {limit} MB", error="photo_too_large")
        if payloads.photo_type(upload.content_type, content[:16]) is None:
            return _refuse(415, "only JPEG, PNG, WebP or GIF photos", error="photo_type")
        if self._photos.blocked(payloads.CHANNEL, chat_id, now):
            return _refuse(429, "too many photos in a short time", error="too_many")
        self._photos.refused(payloads.CHANNEL, chat_id, now)  # counts one more
        try:
            stored = await asyncio.to_thread(self.media.store, content)
        except MediaRejected as exc:
            return _refuse(422, f"unusable photo: {exc.reason}", error="photo_unreadable")
        message = payloads.photo_message(
            chat_id,
            client_id,
            now,
            stored_path=stored.path,
            mime=stored.mime,
            size=stored.size,
            lang=lang,
        )
        raw = {"id": client_id, "lang": lang, "stored": stored.path, "size": stored.size}
        accepted = await self.pipeline.accept(message, raw=raw)
        return JSONResponse({"ok": True, "duplicate": accepted.inbox_id is None})

    # -- what the page fetches --------------------------------------------------------------

    async def replies(
        self, request: Request, after: int = Query(0, ge=0, le=MAX_CURSOR)
    ) -> JSONResponse:
        chat_id = await self._caller(request, posting=False)
        if isinstance(chat_id, JSONResponse):
            return chat_id
        rows = await self.chats.messages_after(chat_id, after, REPLIES_PER_POLL)
        messages: list[dict[str, Any]] = [{"id": id_, **shown} for id_, shown in rows]
        cursor = rows[-1][0] if rows else after
        return JSONResponse(
            {"messages": messages, "cursor": cursor}, headers={"Cache-Control": "no-store"}
        )

    async def _read_stored(self, ref: str) -> bytes:
        """A photo uploaded to the chat, as stored (for the media fetcher)."""
        if not _STORED_PATH.fullmatch(ref):
            raise FileNotFoundError(2, "not a stored photo", ref)
        return await asyncio.to_thread(self.media.path_of(ref).read_bytes)


# Every text the page shows (catalogue keys).
WEB_TEXTS = (
    "web_title",
    "web_intro",
    "web_placeholder",
    "web_send",
    "web_share_location",
    "web_send_photo",
    "web_my_location",
    "web_my_photo",
    "web_other_language",
    "web_location_failed",
    "web_send_failed",
    "web_session_ended",
    "web_photo_too_large",
    "web_photo_type",
    "web_photo_unreadable",
    "web_too_many",
    "web_needs_javascript",
)


def _refuse(status: int, detail: str, *, error: str = "") -> JSONResponse:
    body: dict[str, str] = {"detail": detail}
    if error:
        body["error"] = error  # the page shows its own text for these
    return JSONResponse(body, status_code=status)
