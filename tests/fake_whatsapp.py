"""A fake WhatsApp Cloud API (Graph API), served over loopback HTTP for tests.

Point a `WhatsAppSender` at ``fake.graph_base``. The fake checks the bearer token, validates
message bodies the way the Cloud API does (button and list limits, template names and parameter
counts), records every call in order, serves registered media, and fails on demand::

    fake.fail_next(130429, "Rate limit hit", retry_after="0")
    fake.close_window("6281234567890")       # free-form messages now get error 131047
    fake.add_media("1234", jpeg_bytes)        # GET /{version}/1234, then the download URL
    fake.messages(to="6281234567890")[-1].body["interactive"]

It runs uvicorn in a background thread with its own event loop, so it works from sync and async
tests alike. Error bodies have the Graph API's shape: ``{"error": {"message", "type", "code",
"error_data": {"messaging_product", "details"}, "fbtrace_id"}}``.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from loopback import LoopbackFake
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "EAAGm0PX4ZCpsBOfakeWhatsAppAccessToken0123456789abcdef"
PHONE_NUMBER_ID = "106540352242922"
API_VERSION = "v21.0"
APP_SECRET = "f4k3-app-secret-9c1e7b"
VERIFY_TOKEN = "verify-me-3a7f"
STATUS_TEMPLATE = "lapor_status_update"


@dataclass
class Call:
    """One request the fake received."""

    method: str
    path: str
    body: dict[str, Any]
    status: int  # what the fake answered
    answer: dict[str, Any]

    @property
    def to(self) -> str | None:
        return self.body.get("to") or self.body.get("recipient")

    @property
    def kind(self) -> str:
        """ "read" (a read receipt), "message", "media" (lookup) or "download"."""
        if self.path.startswith("/download/"):
            return "download"
        if self.method == "GET":
            return "media"
        return "read" if self.body.get("status") == "read" else "message"

    @property
    def wamid(self) -> str | None:
        messages = self.answer.get("messages") or [{}]
        return messages[0].get("id")

    @property
    def text(self) -> str:
        """What the citizen reads first: a text body, an interactive body, a template name."""
        kind = self.body.get("type")
        if kind == "text":
            return str(self.body["text"]["body"])
        if kind == "interactive":
            return str(self.body["interactive"]["body"]["text"])
        if kind == "template":
            return f"[template {self.body['template']['name']}]"
        return f"[{kind}]"


class GraphError(Exception):
    def __init__(self, code: int, message: str, details: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.details, self.status = code, message, details, status


@dataclass
class _Failure:
    error: GraphError
    count: int
    retry_after: str | None


class FakeGraph(LoopbackFake):
    calls: list[Call]

    def __init__(
        self,
        token: str = TOKEN,
        phone_number_id: str = PHONE_NUMBER_ID,
        version: str = API_VERSION,
    ) -> None:
        super().__init__()
        self.token = token
        self.phone_number_id = phone_number_id
        self.version = version
        self.templates: dict[str, int] = {STATUS_TEMPLATE: 2}  # name -> body parameters
        self._media: dict[str, tuple[str, bytes]] = {}
        self._failures: list[_Failure] = []
        self._closed: set[str] = set()
        self._ids = itertools.count(1)
        self.download_base: str | None = None  # where media URLs point (default: this fake)

    @property
    def graph_base(self) -> str:
        """Where a `WhatsAppSender` sends its calls (`channels.whatsapp.graph_base`)."""
        return self.base_url

    # -- test-facing API ---------------------------------------------------------------------

    def add_media(self, media_id: str, content: bytes, mime: str = "image/jpeg") -> None:
        with self._lock:
            self._media[media_id] = (mime, content)

    def fail_next(
        self,
        code: int,
        message: str,
        *,
        details: str = "",
        status: int = 400,
        count: int = 1,
        retry_after: str | None = None,
    ) -> None:
        """Answer the next `count` message sends with this Graph API error."""
        with self._lock:
            self._failures.append(
                _Failure(GraphError(code, message, details, status), count, retry_after)
            )

    def close_window(self, recipient: str) -> None:
        """Free-form messages to `recipient` now fail with 131047 (templates still go)."""
        with self._lock:
            self._closed.add(recipient)

    def open_window(self, recipient: str) -> None:
        with self._lock:
            self._closed.discard(recipient)

    def messages(self, to: str | None = None, *, ok_only: bool = True) -> list[Call]:
        """Message sends (not read receipts), in order."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.kind == "message"
                and (to is None or c.to == to)
                and (c.status == 200 or not ok_only)
            ]

    def reads(self) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.kind == "read" and c.status == 200]

    def texts(self, to: str | None = None) -> list[str]:
        return [c.text for c in self.messages(to)]

    # -- the app -----------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/{version}/{phone_number_id}/messages", self._messages, methods=["POST"]),
                Route("/download/{media_id}", self._download, methods=["GET"]),
                Route("/{version}/{media_id}", self._media_lookup, methods=["GET"]),
            ]
        )

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    async def _messages(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._record(request, {}, GraphError(100, "Invalid parameter", "not JSON"))
        try:
            if not self._authorized(request):
                raise GraphError(190, "Invalid OAuth access token.", status=401)
            if request.path_params["version"] != self.version:
                raise GraphError(2635, f"Unknown API version {request.path_params['version']}")
            if request.path_params["phone_number_id"] != self.phone_number_id:
                raise GraphError(100, "Unsupported post request. Object does not exist")
            if body.get("messaging_product") != "whatsapp":
                raise GraphError(100, "Invalid parameter", "messaging_product must be whatsapp")
            if body.get("status") == "read":
                if not str(body.get("message_id", "")).startswith("wamid."):
                    raise GraphError(100, "Invalid parameter", "message_id")
                return self._record(request, body, {"success": True})
            failure = self._take_failure()
            if failure is not None:
                return self._record(request, body, failure.error, failure.retry_after)
            recipient = body.get("to") or body.get("recipient")
            if not recipient:
                raise GraphError(100, "Invalid parameter", "to or recipient is required")
            _validate(body, self.templates)
            with self._lock:
                closed = recipient in self._closed
            if closed and body.get("type") != "template":
                raise GraphError(
                    131047,
                    "Re-engagement message",
                    "Message failed to send because more than 24 hours have passed since "
                    "the customer last replied to this number.",
                )
        except GraphError as error:
            return self._record(request, body, error)
        wamid = "wamid." + base64.b64encode(f"FAKE{next(self._ids):012d}".encode()).decode()
        contact = {"input": recipient}
        contact["wa_id" if "to" in body else "user_id"] = recipient
        answer = {
            "messaging_product": "whatsapp",
            "contacts": [contact],
            "messages": [{"id": wamid}],
        }
        return self._record(request, body, answer)

    async def _media_lookup(self, request: Request) -> Response:
        media_id = request.path_params["media_id"]
        if not self._authorized(request):
            return self._record(
                request, {}, GraphError(190, "Invalid OAuth access token.", status=401)
            )
        with self._lock:
            found = self._media.get(media_id)
        if found is None:
            error = GraphError(100, "Unsupported get request. Object does not exist", status=400)
            return self._record(request, {}, error)
        mime, content = found
        base = self.download_base or str(request.base_url).rstrip("/")
        answer = {
            "messaging_product": "whatsapp",
            "url": f"{base}/download/{media_id}?ext=1767225600&hash=ATu",
            "mime_type": mime,
            "sha256": "0" * 64,
            "file_size": len(content),
            "id": media_id,
        }
        return self._record(request, {}, answer)

    async def _download(self, request: Request) -> Response:
        media_id = request.path_params["media_id"]
        if not self._authorized(request):
            self._record(request, {}, {"unauthorized": True})
            return Response(b"", status_code=401)
        with self._lock:
            found = self._media.get(media_id)
        self._record(request, {}, {"media_id": media_id})
        if found is None:
            return Response(b"", status_code=404)
        return Response(found[1], media_type=found[0])

    def _record(
        self,
        request: Request,
        body: dict[str, Any],
        answer: dict[str, Any] | GraphError,
        retry_after: str | None = None,
    ) -> Response:
        if isinstance(answer, GraphError):
            status = answer.status
            payload: dict[str, Any] = {
                "error": {
                    "message": f"(#{answer.code}) {answer.message}",
                    "type": "OAuthException",
                    "code": answer.code,
                    "error_data": {"messaging_product": "whatsapp", "details": answer.details},
                    "fbtrace_id": "AbCdEfGhIjK",
                }
            }
        else:
            status, payload = 200, answer
        with self._lock:
            self.calls.append(Call(request.method, request.url.path, body, status, payload))
        headers = {"Retry-After": retry_after} if retry_after is not None else None
        return JSONResponse(payload, status_code=status, headers=headers)

    def _take_failure(self) -> _Failure | None:
        return self._take_next(self._failures)


def _invalid(details: str) -> GraphError:
    return GraphError(131009, "Parameter value is not valid", details)


def _validate(body: dict[str, Any], templates: dict[str, int]) -> None:
    """The checks the Cloud API makes that our rendering could get wrong."""
    kind = body.get("type")
    if kind == "text":
        text = (body.get("text") or {}).get("body", "")
        if not isinstance(text, str) or not text.strip() or len(text) > 4096:
            raise _invalid("text.body must be 1-4096 characters")
    elif kind == "interactive":
        _validate_interactive(body.get("interactive") or {})
    elif kind == "template":
        template = body.get("template") or {}
        name = template.get("name")
        if name not in templates or not (template.get("language") or {}).get("code"):
            raise GraphError(132001, "Template name does not exist in the translation")
        parameters = [
            p for c in template.get("components", []) if c.get("type") == "body"
            for p in c.get("parameters", [])
        ]  # fmt: skip
        if len(parameters) != templates[name]:
            raise GraphError(132000, "Number of parameters does not match the expected number")
        for parameter in parameters:
            text = parameter.get("text", "")
            if not text or "\n" in text or "\t" in text or "     " in text:
                raise GraphError(132018, "There was an issue with the parameters in your template")
    elif kind == "image":
        image = body.get("image") or {}
        if not (image.get("id") or image.get("link")):
            raise _invalid("image.id or image.link is required")
    elif kind == "location":
        location = body.get("location") or {}
        if "latitude" not in location or "longitude" not in location:
            raise _invalid("location.latitude and location.longitude are required")
    else:
        raise GraphError(100, "Invalid parameter", f"unsupported type {kind!r}")


def _validate_interactive(interactive: dict[str, Any]) -> None:
    kind = interactive.get("type")
    body = (interactive.get("body") or {}).get("text", "")
    action = interactive.get("action") or {}
    if not isinstance(body, str) or not body.strip():
        raise _invalid("interactive.body.text is required")
    if kind == "button":
        if len(body) > 1024:
            raise _invalid("button body over 1024 characters")
        buttons = action.get("buttons") or []
        if not 1 <= len(buttons) <= 3:
            raise _invalid("1-3 buttons")
        titles = [b["reply"]["title"] for b in buttons]
        ids = [b["reply"]["id"] for b in buttons]
        if any(not 0 < len(t) <= 20 for t in titles) or len(set(titles)) != len(titles):
            raise _invalid("button titles must be 1-20 characters and unique")
        if any(not 0 < len(i) <= 256 for i in ids) or len(set(ids)) != len(ids):
            raise _invalid("button ids must be 1-256 characters and unique")
    elif kind == "list":
        if len(body) > 4096:
            raise _invalid("list body over 4096 characters")
        label = action.get("button", "")
        if not 0 < len(label) <= 20:
            raise _invalid("action.button must be 1-20 characters")
        rows = [r for s in action.get("sections", []) for r in s.get("rows", [])]
        if not 1 <= len(rows) <= 10:
            raise _invalid("1-10 rows")
        for row in rows:
            if not 0 < len(row.get("title", "")) <= 24 or not 0 < len(row.get("id", "")) <= 200:
                raise _invalid("row titles must be 1-24 characters, ids 1-200")
            if len(row.get("description", "")) > 72:
                raise _invalid("row descriptions must be at most 72 characters")
        if len({r["id"] for r in rows}) != len(rows):
            raise _invalid("row ids must be unique")
    elif kind == "location_request_message":
        if len(body) > 1024 or action.get("name") != "send_location":
            raise _invalid("location_request_message needs action.name send_location")
    else:
        raise _invalid(f"unsupported interactive type {kind!r}")


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    """A running fake Graph API (a conftest fixture); `graph.graph_base` configures the service."""
    with FakeGraph() as fake:
        yield fake
