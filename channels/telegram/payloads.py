"""Telegram updates (decoded JSON) as events: citizen messages, callbacks, membership changes.

Deduplication keys (`InboundMessage.external_id`):

- a message: ``m<chat_id>:<message_id>`` (message ids are unique per chat);
- a callback query: ``c<callback_query_id>``.

Both are properties of the content, not of the delivery (unlike ``update_id``), so the same
message seen once by webhook and once by polling is stored once.

Messages and callbacks from group chats are handed over raw: they are the officer desk's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from telegram import CallbackQuery, Message, Update

from channels.base import geo_point, plus_digits
from intake.types import InboundMessage, MediaRef, MessageKind

CHANNEL = "telegram"
# The update kinds we ask Telegram for (setWebhook, getUpdates) and read here.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]

_PRIVATE = "private"
_EDITS = ("edited_message", "edited_channel_post", "edited_business_message")
_GROUPS = ("group", "supergroup")


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
        point = geo_point(venue.location.latitude, venue.location.longitude)
        if point is None:
            return None, "malformed venue location"
        text = ", ".join(p for p in (venue.title, venue.address) if p)
        return InboundMessage(kind=MessageKind.LOCATION, location=point, text=text, **base), ""
    if msg.location is not None:
        point = geo_point(msg.location.latitude, msg.location.longitude)
        if point is None:
            return None, "malformed location"
        return InboundMessage(kind=MessageKind.LOCATION, location=point, **base), ""
    if msg.contact is not None:
        contact = msg.contact
        own = user is not None and contact.user_id is not None and contact.user_id == user.id
        phone = plus_digits(contact.phone_number) if own else None
        return InboundMessage(kind=MessageKind.UNSUPPORTED, text="contact", phone=phone, **base), ""
    for kind, audio in (("voice", msg.voice), ("audio", msg.audio)):
        if audio is not None:
            mime = audio.mime_type or ("audio/ogg" if kind == "voice" else "audio/mpeg")
            # An audio file (music, a recording sent as a file) is a file, not a voice note:
            # its file id cannot be sent back as a voice note.
            document = kind == "audio"
            media = MediaRef(CHANNEL, audio.file_id, mime, audio.file_size, document=document)
            return _media_message(MessageKind.VOICE, media, caption, msg, base), ""
    for key in _UNSUPPORTED_KINDS:
        if raw.get(key) is not None:
            return InboundMessage(kind=MessageKind.UNSUPPORTED, text=key, **base), ""
    if msg.document is not None:
        doc = msg.document
        if (doc.mime_type or "").lower().startswith("image/"):
            media = MediaRef(
                CHANNEL, doc.file_id, doc.mime_type or "", doc.file_size, document=True
            )
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


def _full_name(first: str | None, last: str | None) -> str | None:
    return " ".join(p for p in (first, last) if p) or None


def _tname(value: object) -> str:
    return type(value).__name__
