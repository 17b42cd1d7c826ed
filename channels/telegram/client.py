"""The Bot API client: send rendered replies, edit messages, fetch files, classify errors.

python-telegram-bot is used only for `telegram.Bot`, its request object and its types; the
webhook route, the polling loop and the flow are ours.

The bot token is a secret: it appears in every Bot API URL, so error reasons we raise are
sanitised and the ``httpx`` logger (which logs request URLs at INFO) redacts known tokens.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from telegram import Bot, InputFile, InputMediaDocument, InputMediaPhoto
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from channels.base import FetchedMedia, MediaUpload, SendError, SendFailure, Sent
from channels.secrets import register_secret
from channels.telegram.payloads import ALLOWED_UPDATES, CHANNEL
from channels.telegram.render import (
    CAPABILITIES,
    BotCall,
    SendDocument,
    SendLocation,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SendVoice,
    inline_keyboard,
    render,
)
from intake.types import MediaRef, Reply

# In the reason of the error the Bot API answers an edit that would change nothing with
# (400 "Bad Request: message is not modified: ..."), lower-cased.
NOT_MODIFIED = "not modified"

# --------------------------------------------------------------------------------------------
# Errors and secrets


def _redact(text: str, tokens: Iterable[str]) -> str:
    """Replace every form of a token, ignoring case (PTB may re-case error descriptions)."""
    for token in tokens:
        if token:
            forms = {re.escape(token), re.escape(quote(token, safe=""))}
            text = re.sub("|".join(forms), "<token>", text, flags=re.IGNORECASE)
    return text


def classify_error(exc: BaseException, token: str = "") -> SendError:
    """Map a python-telegram-bot exception to a SendError whose reason never holds `token`."""
    if isinstance(exc, SendError):
        return exc
    tokens = [token] if token else []

    def reason(prefix: str) -> str:
        return _redact(f"{prefix}: {exc}"[:300], tokens)

    if isinstance(exc, RetryAfter):
        seconds = _retry_after_seconds(exc)
        return SendError(SendFailure.RETRY, f"rate limited: retry after {seconds:g}s", seconds)
    if isinstance(exc, Forbidden):
        return SendError(SendFailure.UNREACHABLE, reason("forbidden"))
    if isinstance(exc, ChatMigrated):
        return SendError(SendFailure.DEAD, f"chat migrated to {exc.new_chat_id}")
    if isinstance(exc, BadRequest):
        text = str(exc).lower()
        if "chat not found" in text or "user not found" in text:
            return SendError(SendFailure.UNREACHABLE, reason("bad request"))
        return SendError(SendFailure.DEAD, reason("bad request"))
    if isinstance(exc, InvalidToken):
        # A configuration problem, not this message's: keep it for when the token is fixed.
        return SendError(SendFailure.RETRY, "bot token rejected by the Bot API")
    if isinstance(exc, Conflict):
        return SendError(SendFailure.RETRY, reason("conflict"))
    if isinstance(exc, TimedOut):
        return SendError(SendFailure.RETRY, "timed out")
    if isinstance(exc, NetworkError | TelegramError):  # includes 5xx answers
        return SendError(SendFailure.RETRY, reason(type(exc).__name__))
    return SendError(SendFailure.RETRY, f"unexpected error: {type(exc).__name__}")


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 warns that the int will become a timedelta
        value: Any = exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


class TelegramSender:
    """Sends replies and fetches media through the Bot API at `api_base`.

    A reply is rendered into Bot API calls by `channels.telegram.render.render` (which says how
    text, choices, keyboards, photos and a location become messages). `send` returns the id of
    the last message sent. A failure part-way (say the second of three pieces) raises, and a
    retry sends the whole reply again.
    """

    name = CHANNEL
    capabilities = CAPABILITIES

    def __init__(
        self,
        token: str,
        api_base: str,
        *,
        request_timeout: float = 10.0,
        download_timeout: float = 60.0,
    ) -> None:
        if not token:
            raise ValueError("telegram token is empty")
        register_secret(token)  # before Bot(), which logs its URL (with the token) at DEBUG
        # At DEBUG, PTB logs every call's parameters and answer: chat ids, texts, names.
        ptb_log = logging.getLogger("telegram")
        if ptb_log.level < logging.INFO:
            ptb_log.setLevel(logging.INFO)
        self._token = token
        base = api_base.rstrip("/")
        self._bot_url = f"{base}/bot{token}"
        self._file_url = f"{base}/file/bot{token}"
        self._download_timeout = download_timeout
        self._request = HTTPXRequest(
            connection_pool_size=64,
            connect_timeout=request_timeout,
            read_timeout=request_timeout,
            write_timeout=request_timeout,
            pool_timeout=request_timeout,
        )
        self._updates_request = HTTPXRequest(
            connection_pool_size=1, connect_timeout=request_timeout, read_timeout=request_timeout
        )
        self._bot = Bot(
            token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=self._request,
            get_updates_request=self._updates_request,
        )

    @property
    def bot(self) -> Bot:
        """The underlying PTB bot (for tests and tools); no initialize() needed."""
        return self._bot

    def error(self, exc: BaseException) -> SendError:
        return classify_error(exc, self._token)

    async def send(self, chat_id: str, reply: Reply) -> Sent:
        return await self.send_uploads(chat_id, reply, {})

    async def send_uploads(
        self, chat_id: str, reply: Reply, uploads: Mapping[str, MediaUpload]
    ) -> Sent:
        """`send`, uploading the files of `uploads` (multipart) wherever the reply's photos,
        documents or voices name one of its keys; other references are Telegram file ids."""
        try:
            return await self._send(chat_id, reply, uploads)
        except SendError:
            raise
        except Exception as exc:
            raise self.error(exc) from None

    async def _send(self, chat_id: str, reply: Reply, uploads: Mapping[str, MediaUpload]) -> Sent:
        last_id: int | None = None
        for call in render(reply):  # raises DEAD before anything is sent
            last_id = await self._make(chat_id, call, uploads)
        return Sent(external_id=str(last_id) if last_id is not None else None)

    async def _make(self, chat_id: str, call: BotCall, uploads: Mapping[str, MediaUpload]) -> int:
        """Make one rendered call; the id of the (last) message it sent."""

        def media(ref: str, *, attach: bool = False) -> str | InputFile:
            upload = uploads.get(ref)
            if upload is None:
                return ref
            return InputFile(upload.content, filename=upload.filename, attach=attach)

        if isinstance(call, SendMessage):
            message = await self._bot.send_message(
                chat_id, call.text, reply_markup=call.reply_markup
            )
        elif isinstance(call, SendPhoto):
            message = await self._bot.send_photo(
                chat_id, media(call.photo), caption=call.caption, reply_markup=call.reply_markup
            )
        elif isinstance(call, SendDocument):
            message = await self._bot.send_document(
                chat_id,
                media(call.document),
                caption=call.caption,
                reply_markup=call.reply_markup,
            )
        elif isinstance(call, SendVoice):
            message = await self._bot.send_voice(
                chat_id, media(call.voice), caption=call.caption, reply_markup=call.reply_markup
            )
        elif isinstance(call, SendMediaGroup):
            album = [_with_upload(item, media) for item in call.media]
            messages = await self._bot.send_media_group(chat_id, album)
            return messages[-1].message_id
        else:
            assert isinstance(call, SendLocation)
            message = await self._bot.send_location(
                chat_id, latitude=call.latitude, longitude=call.longitude
            )
        return message.message_id

    async def edit_text(self, chat_id: str, message_id: str | int, reply: Reply) -> None:
        """Replace the text and the inline keyboard of a message we sent (editMessageText).

        The keyboard becomes the reply's choices, or goes away when it has none; the text must
        fit one message. Raises SendError classified as for `send`. Telegram refuses an edit
        that changes nothing ("message is not modified"): that is success here, since the
        message already says what it should.
        """
        try:
            await self._bot.edit_message_text(
                reply.text,
                chat_id=chat_id,
                message_id=int(message_id),
                reply_markup=inline_keyboard(reply.choices),  # no choices: an empty keyboard
            )
        except Exception as exc:
            error = self.error(exc)
            if NOT_MODIFIED in error.reason.lower():
                return
            raise error from None

    async def answer_callback(self, callback_query_id: str, text: str | None = None) -> None:
        try:
            await self._bot.answer_callback_query(callback_query_id, text=text)
        except Exception as exc:
            raise self.error(exc) from None

    async def set_webhook(
        self, url: str, secret: str, allowed_updates: Sequence[str] = tuple(ALLOWED_UPDATES)
    ) -> None:
        try:
            await self._bot.set_webhook(
                url=url, secret_token=secret, allowed_updates=list(allowed_updates)
            )
        except Exception as exc:
            raise self.error(exc) from None

    async def delete_webhook(self, *, drop_pending_updates: bool = False) -> None:
        try:
            await self._bot.delete_webhook(drop_pending_updates=drop_pending_updates)
        except Exception as exc:
            raise self.error(exc) from None

    async def get_me(self) -> dict[str, Any]:
        """The bot's User object as the Bot API returned it."""
        result = await self._call("getMe", {})
        if not isinstance(result, dict):
            raise SendError(SendFailure.RETRY, "getMe: unexpected result")
        return result

    async def get_updates(
        self,
        offset: int | None,
        timeout: int = 30,  # noqa: ASYNC109 (the Bot API long-poll timeout)
        allowed_updates: Sequence[str] = tuple(ALLOWED_UPDATES),
    ) -> list[dict[str, Any]]:
        """Long-poll getUpdates; the raw update objects exactly as the Bot API sent them."""
        params: dict[str, Any] = {"timeout": timeout, "allowed_updates": list(allowed_updates)}
        if offset is not None:
            params["offset"] = offset
        result = await self._call(
            "getUpdates", params, request=self._updates_request, read_timeout=timeout + 10
        )
        if not isinstance(result, list):
            raise SendError(SendFailure.RETRY, "getUpdates: unexpected result")
        return [u for u in result if isinstance(u, dict)]

    async def fetch_media(self, media: MediaRef) -> FetchedMedia:
        """getFile, then download `{api_base}/file/bot<token>/<file_path>`."""
        try:
            info = await self._call("getFile", {"file_id": media.ref})
            path = info.get("file_path") if isinstance(info, dict) else None
            if not isinstance(path, str) or not path or path.startswith("/") or ".." in path:
                raise SendError(SendFailure.DEAD, "getFile returned no usable file_path")
            content = await self._request.retrieve(
                f"{self._file_url}/{quote(path)}", read_timeout=self._download_timeout
            )
        except SendError:
            raise
        except Exception as exc:
            raise self.error(exc) from None
        return FetchedMedia(content=bytes(content), mime=media.mime or _guess_mime(path))

    async def _call(
        self,
        method: str,
        params: dict[str, Any],
        *,
        request: HTTPXRequest | None = None,
        read_timeout: float | None = None,
    ) -> Any:
        """POST a Bot API method and return its raw `result` (not turned into PTB objects).

        Uses PTB's request object (so errors map to PTB exceptions as for `Bot` calls), with
        parameters in the query string, which the Bot API accepts for every method.
        """
        query = urlencode(
            {k: v if isinstance(v, str | int) else _json(v) for k, v in params.items()}
        )
        url = f"{self._bot_url}/{method}" + (f"?{query}" if query else "")
        try:
            if read_timeout is None:
                return await (request or self._request).post(url)
            return await (request or self._request).post(url, read_timeout=read_timeout)
        except Exception as exc:
            raise self.error(exc) from None

    async def aclose(self) -> None:
        # Bot.shutdown() is a no-op for a bot that was never initialize()d, so close our own.
        await self._request.shutdown()
        await self._updates_request.shutdown()


def _with_upload(
    item: InputMediaPhoto | InputMediaDocument, media: Any
) -> InputMediaPhoto | InputMediaDocument:
    """An album item with its file id replaced by the upload of that name, if there is one
    (sent as a multipart part the item points to with attach://)."""
    ref = item.media
    if not isinstance(ref, str):
        return item
    found = media(ref, attach=True)
    if isinstance(found, str):
        return item
    kind = type(item)
    return kind(found, caption=item.caption)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _guess_mime(path: str) -> str:
    ext = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    return {
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "png": "image/png",
        "webp": "image/webp",
        "gif": "image/gif",
        "oga": "audio/ogg",
        "ogg": "audio/ogg",
        "mp3": "audio/mpeg",
    }.get(ext, "application/octet-stream")
