"""Telegram: parse Bot API updates, render replies as Bot API calls, classify errors.

python-telegram-bot is used only for `telegram.Bot`, its request object and its types; the
webhook route, the polling loop and the flow are ours.

Deduplication keys (`InboundMessage.external_id`):

- a message: ``m<chat_id>:<message_id>`` (message ids are unique per chat);
- a callback query: ``c<callback_query_id>``.

Both are properties of the content, not of the delivery (unlike ``update_id``), so the same
message seen once by webhook and once by polling is stored once.

The bot token is a secret: it appears in every Bot API URL, so error reasons we raise are
sanitised and the ``httpx`` logger (which logs request URLs at INFO) redacts known tokens.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
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

from channels.base import FetchedMedia, SendError, SendFailure, Sent
from channels.secrets import register_secret
from intake.types import (
    ChannelCapabilities,
    Choice,
    GeoPoint,
    InboundMessage,
    MediaRef,
    MessageKind,
    Reply,
)

CHANNEL = "telegram"
CAPABILITIES = ChannelCapabilities(buttons=True, photos=True, location=True, max_text=4096)
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]

MAX_TEXT = 4096  # Bot API limit for one message (counted in UTF-16 code units here, to be safe)
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes, UTF-8
MAX_ALBUM = 10
SHORT_LABEL = 16  # labels up to this long go two to a row
LOCATION_BUTTON_LABEL = "📍 Kirim lokasi / Send location"

_PRIVATE = "private"
_EDITS = ("edited_message", "edited_channel_post", "edited_business_message")
_GROUPS = ("group", "supergroup")


# --------------------------------------------------------------------------------------------
# Inbound


@dataclass(frozen=True)
class MembershipChange:
    """A citizen blocked (``blocked=True``) or unblocked the bot in a private chat."""

    user_id: str
    chat_id: str
    blocked: bool
    at: datetime


@dataclass(frozen=True)
class TelegramEvents:
    """Everything one update means to us. At most one of the fields is usually set."""

    update_id: int | None = None
    messages: list[InboundMessage] = field(default_factory=list)
    callback_query_id: str | None = None  # always answer it, even when nothing else came out
    membership: MembershipChange | None = None
    group_message: dict[str, Any] | None = None  # raw message from a group: the officer desk's
    group_callback: dict[str, Any] | None = None  # raw callback_query from a group message
    ignored: str | None = None  # why nothing was produced


# Message fields that describe the envelope, not the content (used to name unknown content).
_ENVELOPE_KEYS = frozenset(
    {
        "message_id", "message_thread_id", "direct_messages_topic", "from", "sender_chat",
        "sender_boost_count", "sender_business_bot", "sender_tag", "date",
        "business_connection_id", "chat", "forward_origin", "forward_from",
        "forward_from_chat", "forward_from_message_id", "forward_signature",
        "forward_sender_name", "forward_date", "is_topic_message", "is_automatic_forward",
        "reply_to_message", "external_reply", "quote", "reply_to_story",
        "reply_to_checklist_task_id", "via_bot", "edit_date", "has_protected_content",
        "is_from_offline", "is_paid_post", "media_group_id", "author_signature",
        "paid_star_count", "entities", "caption", "caption_entities",
        "show_caption_above_media", "has_media_spoiler", "link_preview_options",
        "suggested_post_info", "effect_id", "reply_markup",
    }
)  # fmt: skip
# Service messages that can appear in a private chat and need no answer.
_SERVICE_KEYS = frozenset(
    {
        "pinned_message", "write_access_allowed", "message_auto_delete_timer_changed",
        "successful_payment", "refunded_payment", "users_shared", "chat_shared",
        "connected_website", "chat_background_set", "proximity_alert_triggered",
        "gift", "unique_gift", "paid_message_price_changed",
    }
)  # fmt: skip
# Content kinds we name in UNSUPPORTED messages, in the order we test them (animation before
# document: an animation message carries both).
_UNSUPPORTED_KINDS = (
    "animation", "sticker", "video", "video_note", "poll", "dice", "game", "story",
    "paid_media", "checklist", "invoice", "giveaway", "giveaway_winners",
)  # fmt: skip


def parse_update(
    data: Any, *, bot_username: str | None = None, now: datetime | None = None
) -> TelegramEvents:
    """Turn one Update (decoded JSON) into events. Never raises.

    `now` is the receive time used for callback queries, which carry no date of their own
    (defaults to the current UTC time).
    """
    if not isinstance(data, dict):
        return TelegramEvents(ignored=f"malformed update: expected an object, got {_tname(data)}")
    raw_id = data.get("update_id")
    update_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
    if update_id is None:
        return TelegramEvents(ignored="malformed update: no integer update_id")
    kinds = [k for k, v in data.items() if k != "update_id" and v is not None]
    if not kinds:
        return TelegramEvents(update_id=update_id, ignored="empty update")
    kind = kinds[0]  # the Bot API sends exactly one optional field per update
    if kind in _EDITS:
        return TelegramEvents(update_id=update_id, ignored="edited_message")
    if kind not in ("message", "callback_query", "my_chat_member"):
        return TelegramEvents(update_id=update_id, ignored=kind)
    try:
        update = Update.de_json(data, bot=None)  # PTB 22 needs no bot to parse
        return _parse(update, data, update_id, bot_username, now)
    except Exception as exc:  # malformed shapes make PTB raise KeyError/TypeError/ValueError...
        return TelegramEvents(update_id=update_id, ignored=f"malformed {kind}: {_tname(exc)}")


def _parse(
    update: Update,
    data: dict[str, Any],
    update_id: int,
    bot_username: str | None,
    now: datetime | None,
) -> TelegramEvents:
    if update.message is not None:
        raw = data["message"]
        chat_type = update.message.chat.type
        if chat_type in _GROUPS:
            return TelegramEvents(update_id=update_id, group_message=raw)
        if chat_type != _PRIVATE:
            return TelegramEvents(update_id=update_id, ignored=f"message in a {chat_type} chat")
        message, reason = _parse_message(update.message, raw, bot_username)
        if message is None:
            return TelegramEvents(update_id=update_id, ignored=reason)
        return TelegramEvents(update_id=update_id, messages=[message])
    if update.callback_query is not None:
        return _parse_callback(update.callback_query, data["callback_query"], update_id, now)
    if update.my_chat_member is not None:
        member = update.my_chat_member
        if member.chat.type != _PRIVATE:
            return TelegramEvents(update_id=update_id, ignored="my_chat_member in a group")
        status = member.new_chat_member.status
        change = MembershipChange(
            user_id=_id(member.from_user.id),
            chat_id=_id(member.chat.id),
            blocked=status in ("kicked", "left"),
            at=_utc(member.date),
        )
        return TelegramEvents(update_id=update_id, membership=change)
    raise ValueError("no content")  # a payload PTB could not turn into the expected object


def _parse_message(
    msg: Message, raw: dict[str, Any], bot_username: str | None
) -> tuple[InboundMessage | None, str]:
    chat_id = _id(msg.chat.id)
    user = msg.from_user
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "external_id": f"m{chat_id}:{_id(msg.message_id)}",
        "sender_id": _id(user.id) if user else chat_id,
        "chat_id": chat_id,
        "received_at": _utc(msg.date),
        "sender_name": _full_name(user.first_name, user.last_name) if user else None,
        "language_hint": (user.language_code or None) if user else None,
    }
    caption = _text(msg.caption)

    if msg.text is not None:
        text = _text(msg.text)
        command = _parse_command(text, bot_username)
        if command is not None:
            return InboundMessage(kind=MessageKind.COMMAND, text=command, **base), ""
        return InboundMessage(kind=MessageKind.TEXT, text=text, **base), ""
    if msg.photo:
        largest = max(msg.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        media = MediaRef(CHANNEL, largest.file_id, "image/jpeg", largest.file_size)
        return _media_message(MessageKind.PHOTO, media, caption, msg, base), ""
    if msg.venue is not None:
        venue = msg.venue
        point = _geo(venue.location.latitude, venue.location.longitude)
        if point is None:
            return None, "malformed venue location"
        text = ", ".join(p for p in (venue.title, venue.address) if p)
        return InboundMessage(kind=MessageKind.LOCATION, location=point, text=text, **base), ""
    if msg.location is not None:
        point = _geo(msg.location.latitude, msg.location.longitude)
        if point is None:
            return None, "malformed location"
        return InboundMessage(kind=MessageKind.LOCATION, location=point, **base), ""
    if msg.contact is not None:
        contact = msg.contact
        own = user is not None and contact.user_id is not None and contact.user_id == user.id
        phone = _phone(contact.phone_number) if own else None
        return InboundMessage(kind=MessageKind.UNSUPPORTED, text="contact", phone=phone, **base), ""
    for kind, audio in (("voice", msg.voice), ("audio", msg.audio)):
        if audio is not None:
            mime = audio.mime_type or ("audio/ogg" if kind == "voice" else "audio/mpeg")
            media = MediaRef(CHANNEL, audio.file_id, mime, audio.file_size)
            return _media_message(MessageKind.VOICE, media, caption, msg, base), ""
    for key in _UNSUPPORTED_KINDS:
        if raw.get(key) is not None:
            return InboundMessage(kind=MessageKind.UNSUPPORTED, text=key, **base), ""
    if msg.document is not None:
        doc = msg.document
        if (doc.mime_type or "").lower().startswith("image/"):
            media = MediaRef(CHANNEL, doc.file_id, doc.mime_type or "", doc.file_size)
            return _media_message(MessageKind.PHOTO, media, caption, msg, base), ""
        return InboundMessage(kind=MessageKind.UNSUPPORTED, text="document", **base), ""
    content = [k for k in raw if k not in _ENVELOPE_KEYS]
    if content and content[0] in _SERVICE_KEYS:
        return None, f"service message: {content[0]}"
    name = content[0] if content else "unknown"
    return InboundMessage(kind=MessageKind.UNSUPPORTED, text=name, **base), ""


def _media_message(
    kind: MessageKind, media: MediaRef, caption: str, msg: Message, base: dict[str, Any]
) -> InboundMessage:
    return InboundMessage(
        kind=kind, media=media, text=caption, media_group=msg.media_group_id or None, **base
    )


def _parse_callback(
    query: CallbackQuery, raw: dict[str, Any], update_id: int, now: datetime | None
) -> TelegramEvents:
    query_id = str(query.id)
    message = query.message
    if message is None:
        return TelegramEvents(
            update_id=update_id, callback_query_id=query_id, ignored="callback without message"
        )
    if message.chat.type in _GROUPS:
        return TelegramEvents(update_id=update_id, callback_query_id=query_id, group_callback=raw)
    if message.chat.type != _PRIVATE:
        return TelegramEvents(
            update_id=update_id, callback_query_id=query_id, ignored="callback outside private"
        )
    if not query.data or not isinstance(query.data, str):
        return TelegramEvents(
            update_id=update_id, callback_query_id=query_id, ignored="callback without data"
        )
    user = query.from_user
    inbound = InboundMessage(
        channel=CHANNEL,
        external_id=f"c{query_id}",
        sender_id=_id(user.id),
        chat_id=_id(message.chat.id),
        kind=MessageKind.CHOICE,
        received_at=_utc(now or datetime.now(UTC)),
        choice=query.data,
        sender_name=_full_name(user.first_name, user.last_name),
        language_hint=user.language_code or None,
    )
    return TelegramEvents(update_id=update_id, messages=[inbound], callback_query_id=query_id)


_COMMAND = re.compile(r"/([^\s@/]+)(?:@(\S+))?(?:\s+(.*))?", re.DOTALL)


def _parse_command(text: str, bot_username: str | None) -> str | None:
    """ "/cek@Bot  MDN-1" -> "cek MDN-1"; None when `text` is not a command for us."""
    match = _COMMAND.fullmatch(text.strip())
    if match is None:
        return None
    name, target, args = match.groups()
    if target and bot_username and target.lower() != bot_username.lstrip("@").lower():
        return None  # addressed to another bot
    args = (args or "").strip()
    return f"{name.lower()} {args}" if args else name.lower()


def _id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise TypeError("bad id")
    return str(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError("bad text")
    return value


def _utc(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError("bad date")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _geo(lat: Any, lon: Any) -> GeoPoint | None:
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon)):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return GeoPoint(float(lat), float(lon))


def _phone(number: str | None) -> str | None:
    """Telegram sends international numbers, usually without the "+"; we store "+<digits>"."""
    if not number:
        return None
    digits = re.sub(r"[^\d]", "", number)
    return f"+{digits}" if digits else None


def _full_name(first: str | None, last: str | None) -> str | None:
    return " ".join(p for p in (first, last) if p) or None


def _tname(value: object) -> str:
    return type(value).__name__


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
        return SendError(SendFailure.RETRY, reason(_tname(exc)))
    return SendError(SendFailure.RETRY, f"unexpected error: {_tname(exc)}")


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 warns that the int will become a timedelta
        value: Any = exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


# --------------------------------------------------------------------------------------------
# Outbound


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split `text` into pieces of at most `limit` UTF-16 code units.

    Cuts at a paragraph break, else a line break, else a space (preferring cuts in the second
    half of a piece, so pieces are not tiny), else hard.
    """
    pieces: list[str] = []
    rest = text
    while _utf16_len(rest) > limit:
        cut = _fit(rest, limit)
        window = rest[:cut]
        at, skip = cut, 0
        for sep, min_at in (("\n\n", cut // 2), ("\n", cut // 2), (" ", cut // 2), (" ", 1)):
            i = window.rfind(sep)
            if i >= min_at:
                at, skip = i, len(sep)
                break
        head = rest[:at].rstrip()
        if head:
            pieces.append(head)
        rest = rest[at + skip :].lstrip("\n")
    if rest.strip() or not pieces:
        pieces.append(rest)
    return pieces


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """The largest n such that text[:n] fits `limit` UTF-16 code units."""
    n = min(len(text), limit)
    while n > 0 and (over := _utf16_len(text[:n]) - limit) > 0:
        n -= max(1, over // 2)
    return n


def _rows(buttons: Sequence[Any], labels: Sequence[str]) -> list[list[Any]]:
    per_row = 2 if all(len(label) <= SHORT_LABEL for label in labels) else 1
    return [list(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def inline_keyboard(choices: Sequence[Choice]) -> InlineKeyboardMarkup:
    """One button per choice; raises SendError(DEAD) when a value does not fit callback_data."""
    buttons = []
    for choice in choices:
        size = len(choice.value.encode("utf-8"))
        if not 0 < size <= MAX_CALLBACK_DATA:
            raise SendError(
                SendFailure.DEAD,
                f"choice value {choice.value[:20]!r}... is {size} bytes; "
                f"callback_data must be 1-{MAX_CALLBACK_DATA} bytes",
            )
        buttons.append(
            InlineKeyboardButton(choice.label or choice.value, callback_data=choice.value)
        )
    return InlineKeyboardMarkup(_rows(buttons, [c.label for c in choices]))


def location_keyboard(choices: Sequence[Choice]) -> ReplyKeyboardMarkup:
    """A one-time reply keyboard: the location button, then each choice label as a button.

    Telegram allows one reply_markup per message, so choices offered together with the
    location question become plain keyboard buttons; pressing one sends its label as text.
    """
    labels = [c.label or c.value for c in choices]
    rows = [[KeyboardButton(LOCATION_BUTTON_LABEL, request_location=True)]]
    rows += _rows([KeyboardButton(label) for label in labels], labels)
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


class TelegramSender:
    """Sends replies and fetches media through the Bot API at `api_base`.

    Rendering a Reply:

    - text is sent as plain text (no parse_mode), so citizen and officer text needs no escaping
      and can never break a message with a formatting error; over 4096 characters it is split
      (`split_text`) and only the last piece carries the keyboard;
    - choices: an inline keyboard, callback_data = Choice.value (at most 64 bytes, else DEAD);
    - request_location: a one-time reply keyboard (see `location_keyboard`); choices then come
      back as typed text (their labels);
    - remove_keyboard: ReplyKeyboardRemove; together with choices it goes on the first piece and
      the inline keyboard on the last (a one-piece text is split before its last line; a
      one-line text drops the removal, the location keyboard being one-time anyway);
    - photos: first, as sendPhoto (one) or sendMediaGroup (2-10, in batches of 10); the text is
      their caption when it fits 1024 characters and no keyboard stands in the way;
    - location: sendLocation, last.

    `send` returns the id of the last message sent. A failure part-way (say the second of three
    pieces) raises, and a retry sends the whole reply again.
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
        register_secret(token)

    @property
    def bot(self) -> Bot:
        """The underlying PTB bot, for the officer desk (edits); no initialize() needed."""
        return self._bot

    def error(self, exc: BaseException) -> SendError:
        return classify_error(exc, self._token)

    async def send(self, chat_id: str, reply: Reply) -> Sent:
        try:
            return await self._send(chat_id, reply)
        except SendError:
            raise
        except Exception as exc:
            raise self.error(exc) from None

    async def _send(self, chat_id: str, reply: Reply) -> Sent:
        text = reply.text if reply.text.strip() else ""
        first, last = self._markups(reply)
        photos = list(reply.photos)
        if not (text or photos or reply.location):
            raise SendError(SendFailure.DEAD, "empty reply: no text, photos or location")
        if not text:
            first = None
            if last is not None and len(photos) != 1:
                raise SendError(SendFailure.DEAD, "a keyboard needs a text message or one photo")

        last_id: int | None = None
        single = len(photos) == 1
        if (
            photos
            and _utf16_len(text) <= MAX_CAPTION
            and first is None
            and (single or last is None)
        ):
            # The text rides on the photos as a caption (and the keyboard on a single photo).
            last_id = await self._send_photos(chat_id, photos, text, last)
            text = ""
        elif photos:
            last_id = await self._send_photos(chat_id, photos, "", None)

        if text:
            pieces = split_text(text)
            if first is not None and len(pieces) == 1:
                pieces = _split_last_line(pieces[0])
                if len(pieces) == 1:
                    first = None  # cannot carry two markups; the one-time keyboard hides itself
            for i, piece in enumerate(pieces):
                markup = last if i == len(pieces) - 1 else (first if i == 0 else None)
                message = await self._bot.send_message(chat_id, piece, reply_markup=markup)
                last_id = message.message_id

        if reply.location is not None:
            message = await self._bot.send_location(
                chat_id, latitude=reply.location.lat, longitude=reply.location.lon
            )
            last_id = message.message_id
        return Sent(external_id=str(last_id) if last_id is not None else None)

    @staticmethod
    def _markups(reply: Reply) -> tuple[Markup | None, Markup | None]:
        """(markup for the first text piece, markup for the last text piece)."""
        if reply.request_location:
            return None, location_keyboard(reply.choices)
        if reply.choices:
            keyboard = inline_keyboard(reply.choices)
            return (ReplyKeyboardRemove() if reply.remove_keyboard else None), keyboard
        if reply.remove_keyboard:
            return None, ReplyKeyboardRemove()
        return None, None

    async def _send_photos(
        self, chat_id: str, photos: list[str], caption: str, markup: Markup | None
    ) -> int:
        last_id = 0
        for start in range(0, len(photos), MAX_ALBUM):
            batch = photos[start : start + MAX_ALBUM]
            text = caption if start == 0 else ""
            if len(batch) == 1:
                message = await self._bot.send_photo(
                    chat_id, batch[0], caption=text or None, reply_markup=markup
                )
                last_id = message.message_id
            else:
                media = [
                    InputMediaPhoto(ref, caption=text if i == 0 and text else None)
                    for i, ref in enumerate(batch)
                ]
                messages = await self._bot.send_media_group(chat_id, media)
                last_id = messages[-1].message_id
        return last_id

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


def _split_last_line(text: str) -> list[str]:
    """Split before the last line so two markups can travel on two messages."""
    head, sep, tail = text.rstrip().rpartition("\n")
    if not sep or not head.strip() or not tail.strip():
        return [text]
    return [head.rstrip(), tail.strip()]


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
