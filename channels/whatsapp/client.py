"""The Cloud API client: send rendered replies, mark messages read, fetch media, classify errors.

A thin client of our own over httpx (no WhatsApp SDK). Every URL is built from the configured
``graph_base`` and ``api_version``; the access token travels only in the Authorization header, so
it never appears in a URL, a log line or an error reason.

A reply with a `StatusNotice` outside the 24-hour window (or refused with error 131047) goes as
the configured template with the ticket and the status as parameters; without a template, and
for any other reply outside the window, `SendError(WAIT)` holds it until the citizen writes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from channels.base import FetchedMedia, SendError, SendFailure, Sent
from channels.secrets import register_secret
from channels.whatsapp.payloads import CHANNEL
from channels.whatsapp.render import CAPABILITIES, recipient, render, template_message
from channels.wire import header_seconds
from intake.types import MediaRef, Reply, StatusNotice

log = logging.getLogger(__name__)

DEFAULT_GRAPH_BASE = "https://graph.facebook.com"
DEFAULT_MAX_DOWNLOAD = 16 * 1024 * 1024  # WhatsApp's own limit for audio and video

# Graph API error codes (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes)
REENGAGEMENT = 131047  # more than 24 hours since the citizen last wrote: only templates go
# Throttling: application, account, throughput, spam and per-citizen ("pair") rate limits.
# Retried with the dispatcher's exponential back-off (or the Retry-After the API gives).
THROTTLED: frozenset[int] = frozenset({4, 80007, 130429, 131048, 131056})
# The recipient cannot be reached: not on WhatsApp, old app, not an allowed test number...
UNREACHABLE: frozenset[int] = frozenset({131026, 131030})
# Temporary trouble at Meta's end, or a configuration problem (token, number, payment) that an
# administrator can fix: keep the message and try again.
TRANSIENT: frozenset[int] = frozenset(
    {0, 1, 2, 3, 10, 190, 200, 368, 131000, 131016, 131031, 131042, 131045, 131057}
    | set(range(133000, 133017))
)


def classify_error(status_code: int, body: Any, retry_after: str | None = None) -> SendError:
    """Map a Graph API error answer to a SendError (the reason never holds the token)."""
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = ""
    if isinstance(error, dict):
        message = str(error.get("message") or "")
        data = error.get("error_data")
        details = data.get("details") if isinstance(data, dict) else None
        if isinstance(details, str) and details and details not in message:
            message = f"{message}: {details}" if message else details
    reason = f"HTTP {status_code}" + (f", error {code}" if code is not None else "")
    reason += f": {message}"[:400] if message else ""
    wait = _retry_after(retry_after)
    if code == REENGAGEMENT:
        return SendError(SendFailure.WAIT, f"outside the 24-hour window ({reason})")
    if status_code == 429 or code in THROTTLED:
        return SendError(SendFailure.RETRY, f"throttled: {reason}", wait)
    if code in UNREACHABLE:
        return SendError(SendFailure.UNREACHABLE, reason)
    if code in TRANSIENT or status_code >= 500 or status_code in (401, 408):
        return SendError(SendFailure.RETRY, reason, wait)
    return SendError(SendFailure.DEAD, reason)


def _retry_after(value: str | None) -> float | None:
    return header_seconds(value, at_most=86400)


# Whether a free-form message may go to `chat_id` now (the citizen wrote within 24 hours).
WindowCheck = Callable[[str], Awaitable[bool]]


class WhatsAppSender:
    """Sends replies, marks messages read and fetches media through the Cloud API."""

    name = CHANNEL
    capabilities = CAPABILITIES

    def __init__(
        self,
        phone_number_id: str,
        access_token: str,
        *,
        graph_base: str = DEFAULT_GRAPH_BASE,
        api_version: str = "v21.0",
        status_template: str = "",
        template_language: str = "id",
        window: WindowCheck | None = None,
        request_timeout: float = 10.0,
        download_timeout: float = 60.0,
        max_download: int = DEFAULT_MAX_DOWNLOAD,
    ) -> None:
        if not phone_number_id or not access_token:
            raise ValueError("whatsapp phone_number_id and access_token are required")
        register_secret(access_token)
        self.phone_number_id = phone_number_id
        self.status_template = status_template
        self.template_language = template_language or "id"
        self.window = window
        self.max_download = max_download
        self._token = access_token
        self._graph = graph_base.rstrip("/")
        self._download_timeout = download_timeout
        self._client = httpx.AsyncClient(
            base_url=f"{self._graph}/{api_version}/",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=request_timeout,
        )

    # -- sending ---------------------------------------------------------------------------

    async def send(self, chat_id: str, reply: Reply) -> Sent:
        messages = render(reply)  # raises DEAD before anything is sent
        if self.window is not None and not await self.window(chat_id):
            return await self._outside_window(chat_id, reply, "outside the 24-hour window")
        try:
            last: str | None = None
            for message in messages:
                last = await self._post_message(chat_id, message)
            return Sent(external_id=last)
        except SendError as exc:
            if exc.failure is SendFailure.WAIT:
                return await self._outside_window(chat_id, reply, exc.reason)
            raise

    async def _outside_window(self, chat_id: str, reply: Reply, reason: str) -> Sent:
        if reply.notice is not None and self.status_template:
            return await self.send_template(chat_id, reply.notice)
        if reply.notice is not None:
            reason += "; no status_template is configured"
        raise SendError(SendFailure.WAIT, f"{reason}: held until the citizen writes again")

    async def send_template(self, chat_id: str, notice: StatusNotice) -> Sent:
        if not self.status_template:
            raise SendError(SendFailure.WAIT, "no status_template is configured")
        message = template_message(self.status_template, self.template_language, notice)
        return Sent(external_id=await self._post_message(chat_id, message))

    async def _post_message(self, chat_id: str, message: dict[str, Any]) -> str | None:
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            **recipient(chat_id),
            **message,
        }
        answer = await self._call("POST", f"{self.phone_number_id}/messages", json=body)
        sent = answer.get("messages") if isinstance(answer, dict) else None
        first = sent[0] if isinstance(sent, list) and sent else None
        wamid = first.get("id") if isinstance(first, dict) else None
        if not isinstance(wamid, str) or not wamid:
            log.warning("the Cloud API accepted a message without giving its id")
            return None
        return wamid

    async def mark_read(self, message_id: str, *, typing: bool = True) -> None:
        """Blue ticks for the citizen's message, and a typing indicator while we answer."""
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message_id,
        }
        if typing:
            body["typing_indicator"] = {"type": "text"}
        await self._call("POST", f"{self.phone_number_id}/messages", json=body)

    # -- media -----------------------------------------------------------------------------

    async def fetch_media(self, media: MediaRef) -> FetchedMedia:
        """``GET {graph}/{version}/{media_id}`` gives a URL; download it with the token."""
        info = await self._call(
            "GET", _media_path(media.ref), params={"phone_number_id": self.phone_number_id}
        )
        url = info.get("url") if isinstance(info, dict) else None
        if not isinstance(url, str) or not self._may_send_token_to(url):
            raise SendError(SendFailure.DEAD, "the media lookup returned no usable URL")
        declared = _int(info.get("file_size"))
        if declared is not None and declared > self.max_download:
            raise SendError(SendFailure.DEAD, f"media is {declared} bytes, over the limit")
        mime = info.get("mime_type") if isinstance(info.get("mime_type"), str) else ""
        content = await self._download(url)
        return FetchedMedia(content=content, mime=mime or media.mime)

    def _may_send_token_to(self, url: str) -> bool:
        """Our bearer token goes only over HTTPS, or to the configured Graph host itself."""
        parts, graph = urlsplit(url), urlsplit(self._graph)
        if parts.scheme == "https" and parts.hostname:
            return True
        return (parts.scheme, parts.netloc) == (graph.scheme, graph.netloc)

    async def _download(self, url: str) -> bytes:
        try:
            async with self._client.stream(
                "GET", url, timeout=self._download_timeout, follow_redirects=True
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise _error_of(response)
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_download:
                        raise SendError(SendFailure.DEAD, "media is over the download limit")
                    chunks.append(chunk)
                return b"".join(chunks)
        except SendError:
            raise
        except httpx.HTTPError as exc:
            raise SendError(SendFailure.RETRY, f"download failed: {type(exc).__name__}") from None

    # -- plumbing --------------------------------------------------------------------------

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise SendError(SendFailure.RETRY, "timed out") from None
        except httpx.HTTPError as exc:
            raise SendError(SendFailure.RETRY, f"network error: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise _error_of(response)
        try:
            return response.json()
        except ValueError:
            raise SendError(SendFailure.RETRY, "the Cloud API answered with no JSON") from None

    async def aclose(self) -> None:
        await self._client.aclose()


def _error_of(response: httpx.Response) -> SendError:
    try:
        body = response.json()
    except ValueError:
        body = None
    return classify_error(response.status_code, body, response.headers.get("retry-after"))


def _media_path(media_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,200}", media_id):  # digits, in practice
        raise SendError(SendFailure.DEAD, "not a WhatsApp media id")
    return media_id


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        return int(value)
    return None
