"""A fake Telegram Bot API, served over loopback HTTP for tests.

Point a bot at ``fake.api_base`` (``Bot(token, base_url=f"{api_base}/bot", ...)``). The fake
records every call in order, answers with realistic JSON, serves registered files, queues updates
for getUpdates and fails on demand::

    def test_x(fake_telegram):
        fake_telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", 1)
        fake_telegram.fail_randomly(0.3, seed=7)  # 500, 429 or a hang (a client timeout)
        fake_telegram.slow_down(0.3)  # every sendMessage answered after 0.3 s
        fake_telegram.push_update({...})
        file_path = fake_telegram.add_file("AgAC-photo", b"...jpeg bytes...")
        ... fake_telegram.calls_to("sendMessage")[0].params["text"]

It runs uvicorn in a background thread with its own event loop, so it works from sync and async
tests alike. Method names are matched case-insensitively, as the Bot API does.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import itertools
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
from loopback import LoopbackFake
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEFAULT_TOKEN = "123456789:AAE-fake-test-token_xyz0123456789abcd"
BOT_ID = 123456789
BOT_USERNAME = "LaporFakeBot"

# Parameters PTB sends JSON-encoded inside form fields.
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "media",
        "allowed_updates",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
    }
)
_METHODS = {
    m.lower(): m
    for m in (
        "getMe",
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVoice",
        "sendMediaGroup",
        "sendLocation",
        "editMessageText",
        "editMessageReplyMarkup",
        "answerCallbackQuery",
        "getFile",
        "setWebhook",
        "deleteWebhook",
        "getWebhookInfo",
        "getUpdates",
    )
}


# Methods that take files: a file id or URL in the field, or the file itself (multipart).
_UPLOADS = frozenset({"sendPhoto", "sendDocument", "sendVoice", "sendMediaGroup"})
ATTACH = "attach://"


@dataclass
class Call:
    """One request the fake received."""

    method: str  # canonical name, e.g. "sendMessage"
    params: dict[str, Any]  # decoded: JSON-encoded form fields are parsed back
    status: int  # HTTP status the fake answered with
    files: dict[str, bytes] = field(default_factory=dict)  # multipart uploads
    result: Any = None  # what a successful call answered ("result" of the JSON)
    at: float = 0.0  # time.monotonic() when the answer was given

    @property
    def message_id(self) -> int | None:
        """The id of the message a successful send created (the last one, for an album)."""
        result = self.result[-1] if isinstance(self.result, list) and self.result else self.result
        return result.get("message_id") if isinstance(result, dict) else None

    @property
    def chat_id(self) -> str | None:
        value = self.params.get("chat_id")
        return None if value is None else str(value)


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None
    count: int


@dataclass
class _Chaos:
    rate: float
    methods: frozenset[str]
    kinds: tuple[str, ...]
    retry_after: int
    hang: float
    rng: random.Random


class FakeTelegram(LoopbackFake):
    calls: list[Call]

    def __init__(self, token: str = DEFAULT_TOKEN, *, max_poll_wait: float = 1.0) -> None:
        super().__init__()
        self.token = token
        self.max_poll_wait = max_poll_wait
        self.webhook: dict[str, Any] | None = None
        self._failures: dict[str, list[_Failure]] = {}
        self._chaos: _Chaos | None = None
        self._slow: tuple[float, frozenset[str]] | None = None
        self._files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self._documents: set[str] = set()  # file ids Telegram knows as documents, not photos
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1000
        self._message_ids = itertools.count(1)
        self._file_numbers = itertools.count(1)

    @property
    def api_base(self) -> str:
        """Where the bot sends its calls (`channels.telegram.api_base`)."""
        return self.base_url

    # -- test-facing API ---------------------------------------------------------------------

    def add_file(
        self, file_id: str, content: bytes, file_path: str | None = None, *, document: bool = False
    ) -> str:
        """Make `content` downloadable for getFile(file_id); returns its file_path. A
        `document` (a file sent as a file) cannot be sent back as a photo, as in Telegram."""
        if file_path is None:
            folder = "documents" if document else "photos"
            file_path = f"{folder}/file_{next(self._file_numbers)}.jpg"
        with self._lock:
            self._files[file_id] = (file_path, content)
            if document:
                self._documents.add(file_id)
        return file_path

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (an update_id is assigned if missing)."""
        with self._lock:
            if "update_id" not in update:
                update = {"update_id": self._next_update_id, **update}
            self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
            self._updates.append(update)
        return update

    def fail_next(
        self,
        method: str,
        status: int,
        description: str,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next `count` calls of `method` with a Telegram-shaped error."""
        with self._lock:
            self._failures.setdefault(method.lower(), []).append(
                _Failure(status, description, retry_after, count)
            )

    def fail_randomly(
        self,
        rate: float,
        *,
        methods: tuple[str, ...] = ("sendMessage", "sendPhoto", "sendMediaGroup", "sendLocation"),
        kinds: tuple[str, ...] = ("500", "429", "timeout"),
        retry_after: int = 1,
        hang: float = 2.0,
        seed: int | None = None,
    ) -> None:
        """Fail a share `rate` of the calls of `methods`, each with one of `kinds` at random:
        "500" (Internal Server Error), "429" (with `retry_after`) or "timeout" (the request
        hangs for `hang` seconds and is not carried out: point a client with a shorter timeout
        at it). A failed call has no effect. `rate=0` stops it."""
        with self._lock:
            self._chaos = (
                _Chaos(
                    rate,
                    frozenset(m.lower() for m in methods),
                    kinds,
                    retry_after,
                    hang,
                    random.Random(seed),
                )
                if rate > 0
                else None
            )

    def slow_down(self, seconds: float, methods: tuple[str, ...] = ("sendMessage",)) -> None:
        """Carry out each call of `methods` only after `seconds` (a slow network): many sends
        are under way at any moment. A call whose caller went away meanwhile is still carried
        out and logged, as Telegram would. `seconds=0` stops it."""
        with self._lock:
            self._slow = (seconds, frozenset(m.lower() for m in methods)) if seconds else None

    def calls_to(self, method: str, *, ok_only: bool = True) -> list[Call]:
        with self._lock:
            return [
                c
                for c in self.calls
                if c.method.lower() == method.lower() and (c.status == 200 or not ok_only)
            ]

    @property
    def methods(self) -> list[str]:
        """Names of the calls received, in order (including failed ones)."""
        with self._lock:
            return [c.method for c in self.calls]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    # -- the app -----------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{file_path:path}", self._download, methods=["GET"]),
            ]
        )

    async def _api(self, request: Request) -> Response:
        try:
            params, files = await _decode(request)
        except ClientDisconnect:  # the caller went away (a test killed it): nothing to answer
            return Response(status_code=499)
        method = _METHODS.get(request.path_params["method"].lower())
        name = method or request.path_params["method"]
        if request.path_params["token"] != self.token:
            return self._record(name, params, files, _error(401, "Unauthorized"))
        if method is None:
            return self._record(name, params, files, _error(404, "Not Found"))
        failure = self._take_failure(method)
        if failure is not None:
            return self._record(method, params, files, failure)
        kind = self._take_chaos(method)
        if kind is not None:
            return self._record(method, params, files, await self._chaos_answer(kind))
        slow = self._slow
        if slow is not None and method.lower() in slow[1]:
            await asyncio.sleep(slow[0])
        try:
            handler = getattr(self, f"_m_{method}")
            result = await (handler(params, files) if method in _UPLOADS else handler(params))
        except _ApiError as exc:
            return self._record(method, params, files, _error(exc.status, exc.description))
        return self._record(method, params, files, JSONResponse({"ok": True, "result": result}))

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        wanted = request.path_params["file_path"]
        with self._lock:
            for path, content in self._files.values():
                if path == wanted:
                    return Response(content, media_type="application/octet-stream")
        return _error(404, "Not Found")

    def _record(
        self, method: str, params: dict[str, Any], files: dict[str, bytes], response: Response
    ) -> Response:
        result = None
        if response.status_code == 200 and isinstance(response, JSONResponse):
            result = json.loads(bytes(response.body)).get("result")
        call = Call(method, params, response.status_code, files, result, time.monotonic())
        with self._lock:
            self.calls.append(call)
        return response

    def _take_failure(self, method: str) -> Response | None:
        failure = self._take_next(self._failures.get(method.lower()))
        if failure is None:
            return None
        return _error(failure.status, failure.description, failure.retry_after)

    def _take_chaos(self, method: str) -> str | None:
        with self._lock:
            chaos = self._chaos
            if chaos is None or method.lower() not in chaos.methods:
                return None
            if chaos.rng.random() >= chaos.rate:
                return None
            return chaos.rng.choice(chaos.kinds)

    async def _chaos_answer(self, kind: str) -> Response:
        chaos = self._chaos
        retry_after = chaos.retry_after if chaos else 1
        if kind == "429":
            return _error(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        if kind == "timeout":
            await asyncio.sleep(chaos.hang if chaos else 2.0)
            return _error(504, "Gateway Timeout")
        return _error(500, "Internal Server Error")

    # -- methods -----------------------------------------------------------------------------

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise _ApiError(400, "Bad Request: chat_id is empty")
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": _bot_user(),
            "chat": _chat(str(chat_id)),
            "date": int(time.time()),
            **content,
        }
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return message

    async def _m_getMe(self, params: dict[str, Any]) -> Any:
        return {
            **_bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        text = str(params.get("text", ""))
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        return self._message(params, text=text)

    def _file(self, field: str, params: dict[str, Any], files: dict[str, bytes]) -> str:
        """The file id of what `field` names: a file id, a file uploaded as the field itself,
        or (attach://name) as another part; an upload gets a new file id."""
        value = str(params.get(field, ""))
        name = value.removeprefix(ATTACH) if value.startswith(ATTACH) else field
        if value and not value.startswith(ATTACH):
            return value
        if name not in files:
            raise _ApiError(400, f"Bad Request: there is no {field} in the request")
        if not files[name]:
            raise _ApiError(400, f"Bad Request: file of {field} is empty")
        return f"uploaded-{field}-{next(self._file_numbers)}"

    async def _m_sendPhoto(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        photo = self._file("photo", params, files)
        self._check_media_type("photo", photo)
        content: dict[str, Any] = {"photo": _photo_sizes(photo)}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._message(params, **content)

    async def _m_sendDocument(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        document = self._file("document", params, files)
        content: dict[str, Any] = {"document": _document(document)}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._message(params, **content)

    async def _m_sendVoice(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        voice = self._file("voice", params, files)
        self._check_media_type("voice", voice)
        content: dict[str, Any] = {
            "voice": {
                "file_id": voice,
                "file_unique_id": "v1",
                "duration": 3,
                "mime_type": "audio/ogg",
            }
        }
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._message(params, **content)

    def _check_media_type(self, kind: str, file_id: str) -> None:
        if kind in ("photo", "voice") and file_id in self._documents:
            raise _ApiError(
                400, f"Bad Request: can't use file of type Document as {kind.capitalize()}"
            )

    async def _m_sendMediaGroup(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise _ApiError(400, "Bad Request: wrong number of media specified")
        kinds = {str(item.get("type", "")) for item in media}
        if len(kinds) != 1 or not kinds <= {"photo", "document"}:
            raise _ApiError(400, "Bad Request: documents can't be mixed with other media types")
        refs = [self._file("media", item, files) for item in media]
        for item, ref in zip(media, refs, strict=True):
            self._check_media_type(str(item.get("type")), ref)
        group_id = str(13000000000000000 + next(self._file_numbers))
        messages = []
        for item, ref in zip(media, refs, strict=True):
            content: dict[str, Any] = {"media_group_id": group_id}
            if item.get("type") == "document":
                content["document"] = _document(ref)
            else:
                content["photo"] = _photo_sizes(ref)
            if item.get("caption"):
                content["caption"] = item["caption"]
            messages.append(self._message(params, **content))
        return messages

    async def _m_sendLocation(self, params: dict[str, Any]) -> Any:
        location = {
            "latitude": float(params["latitude"]),
            "longitude": float(params["longitude"]),
        }
        return self._message(params, location=location)

    async def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        if "inline_message_id" in params:
            return True
        message = self._message(params, text=str(params.get("text", "")))
        message["message_id"] = int(params.get("message_id", 0))
        message["edit_date"] = message["date"]
        return message

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        if "inline_message_id" in params:
            return True
        message = self._message(params, text="")
        message["message_id"] = int(params.get("message_id", 0))
        message["edit_date"] = message["date"]
        return message

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        if not params.get("callback_query_id"):
            raise _ApiError(400, "Bad Request: query is too old and response timeout expired")
        return True

    async def _m_getFile(self, params: dict[str, Any]) -> Any:
        file_id = str(params.get("file_id", ""))
        with self._lock:
            found = self._files.get(file_id)
        if found is None:
            raise _ApiError(
                400, "Bad Request: wrong file_id or the file is temporarily unavailable"
            )
        path, content = found
        if len(content) > 20 * 1024 * 1024:
            raise _ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{abs(hash(file_id)) % 10**10}",
            "file_size": len(content),
            "file_path": path,
        }

    async def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        url = str(params.get("url", ""))
        if url and not url.startswith("https://"):
            raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        self.webhook = dict(params) if url else None
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        if _truthy(params.get("drop_pending_updates")):
            with self._lock:
                self._updates.clear()
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        with self._lock:
            pending = len(self._updates)
        url = (self.webhook or {}).get("url", "")
        return {"url": url, "has_custom_certificate": False, "pending_update_count": pending}

    async def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset", 0) or 0)
        timeout = float(params.get("timeout", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        deadline = time.monotonic() + min(timeout, self.max_poll_wait)
        while True:
            with self._lock:
                if offset:  # confirms (forgets) everything before offset
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = self._updates[:limit]
            if ready or time.monotonic() >= deadline:
                return ready
            await asyncio.sleep(0.02)


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _error(status: int, description: str, retry_after: int | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=status)


async def _decode(request: Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Parameters from the query string and a JSON, urlencoded or multipart body."""
    params: dict[str, Any] = dict(request.query_params)
    files: dict[str, bytes] = {}
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if body and content_type.startswith("application/json"):
        decoded = json.loads(body)
        if isinstance(decoded, dict):
            params.update(decoded)
        return params, files
    if body and content_type.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    elif body and content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                files[str(name)] = payload
            else:
                params[str(name)] = payload.decode()
    for key in _JSON_PARAMS & params.keys():
        if isinstance(params[key], str):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(params[key])
    return params, files


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _bot_user() -> dict[str, Any]:
    return {"id": BOT_ID, "is_bot": True, "first_name": "Lapor Fake", "username": BOT_USERNAME}


def _chat(chat_id: str) -> dict[str, Any]:
    if chat_id.startswith("-100"):
        return {"id": int(chat_id), "type": "supergroup", "title": "Officers"}
    if chat_id.startswith("-"):
        return {"id": int(chat_id), "type": "group", "title": "Officers"}
    try:
        return {"id": int(chat_id), "type": "private", "first_name": "Warga"}
    except ValueError:
        return {"id": -1000000000001, "type": "channel", "title": chat_id}


def _document(file_id: str) -> dict[str, Any]:
    return {"file_id": file_id, "file_unique_id": "d1", "file_name": "foto.jpg"}


def _photo_sizes(file_id: str) -> list[dict[str, Any]]:
    return [
        {"file_id": f"{file_id}-s", "file_unique_id": "s1", "width": 90, "height": 67},
        {"file_id": file_id, "file_unique_id": "m1", "width": 1280, "height": 960},
    ]


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A running fake Bot API; `fake_telegram.api_base` and `.token` configure the bot."""
    with FakeTelegram() as fake:
        yield fake
