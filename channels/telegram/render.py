"""Replies as Bot API calls: texts split to fit, choices as keyboards, photos and a location.

`render` turns one `Reply` into the calls that say it, in order; `TelegramSender.send` makes
them. Everything that can make a reply unsendable (a choice value too long for callback_data,
an empty reply, a keyboard with nothing to hang on) raises `SendError(DEAD)` here, before
anything is sent.

- Text is sent as plain text (no parse_mode), so citizen and officer text needs no escaping
  and can never break a message with a formatting error; over 4096 characters it is split
  (`split_text`) and only the last piece carries the keyboard.
- Choices: an inline keyboard, callback_data = Choice.value (at most 64 bytes, else DEAD).
- request_location: a one-time reply keyboard (see `location_keyboard`); choices then come
  back as typed text (their labels).
- remove_keyboard: ReplyKeyboardRemove; together with choices it goes on the first piece and
  the inline keyboard on the last (a one-piece text is split before its last line; a one-line
  text drops the removal, the location keyboard being one-time anyway).
- Photos: first, as sendPhoto (one) or sendMediaGroup (2-10, in batches of 10); the text is
  their caption when it fits 1024 characters and no keyboard stands in the way.
- Documents (images the citizen sent as files): after the photos, as sendDocument or albums of
  documents (Telegram sends a document's file id only as a document, and never mixes documents
  and photos in one album); without photos they carry the caption as photos would.
- Voices (the citizen's voice notes, by file id): after the photos and documents, one sendVoice
  each (Telegram does not put voice notes in albums); without photos or documents they carry
  the caption as photos would.
- Location: sendLocation, last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from channels.base import SendError, SendFailure, utf16_fit, utf16_len
from intake.types import ChannelCapabilities, Choice, Reply

MAX_TEXT = 4096  # Bot API limit for one message (counted in UTF-16 code units here, to be safe)
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes, UTF-8
MAX_ALBUM = 10
SHORT_LABEL = 16  # labels up to this long go two to a row
LOCATION_BUTTON_LABEL = "📍 Kirim lokasi / Send location"

# Kinds of media a reply shows.
PHOTO, DOCUMENT, VOICE = "photo", "document", "voice"

CAPABILITIES = ChannelCapabilities(buttons=True, photos=True, location=True, max_text=MAX_TEXT)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split `text` into pieces of at most `limit` UTF-16 code units.

    Cuts at a paragraph break, else a line break, else a space (preferring cuts in the second
    half of a piece, so pieces are not tiny), else hard.
    """
    pieces: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        cut = utf16_fit(rest, limit)
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


@dataclass(frozen=True)
class SendMessage:
    text: str
    reply_markup: Markup | None = None


@dataclass(frozen=True)
class SendPhoto:
    photo: str  # a file_id or an URL
    caption: str | None = None
    reply_markup: Markup | None = None


@dataclass(frozen=True)
class SendDocument:
    document: str  # a file_id or an URL
    caption: str | None = None
    reply_markup: Markup | None = None


@dataclass(frozen=True)
class SendVoice:
    voice: str  # a file_id or an URL
    caption: str | None = None
    reply_markup: Markup | None = None


@dataclass(frozen=True)
class SendMediaGroup:
    media: list[InputMediaPhoto] | list[InputMediaDocument]  # one kind per album


@dataclass(frozen=True)
class SendLocation:
    latitude: float
    longitude: float


BotCall = SendMessage | SendPhoto | SendDocument | SendVoice | SendMediaGroup | SendLocation


def render(reply: Reply) -> list[BotCall]:
    """The Bot API calls (without the chat) that together say `reply`, in order."""
    text = reply.text if reply.text.strip() else ""
    first, last = markups(reply)
    # The media that may carry the text: the photos, else the documents, else the voices.
    kinds = [(PHOTO, reply.photos), (DOCUMENT, reply.documents), (VOICE, reply.voices)]
    present = [(kind, list(refs)) for kind, refs in kinds if refs]
    kind, media = present[0] if present else (PHOTO, [])
    more = present[1:]
    if not (text or media or reply.location):
        raise SendError(SendFailure.DEAD, "empty reply: no text, photos or location")
    if not text:
        first = None
        if last is not None and len(media) != 1:
            raise SendError(SendFailure.DEAD, "a keyboard needs a text message or one photo")

    calls: list[BotCall] = []
    single = len(media) == 1
    if media and utf16_len(text) <= MAX_CAPTION and first is None and (single or last is None):
        # The text rides on the photos as a caption (and the keyboard on a single photo).
        calls += _photos(media, text, last, kind=kind)
        text = ""
    elif media:
        calls += _photos(media, "", None, kind=kind)
    for more_kind, more_media in more:
        calls += _photos(more_media, "", None, kind=more_kind)

    if text:
        pieces = split_text(text)
        if first is not None and len(pieces) == 1:
            pieces = _split_last_line(pieces[0])
            if len(pieces) == 1:
                first = None  # cannot carry two markups; the one-time keyboard hides itself
        for i, piece in enumerate(pieces):
            markup = last if i == len(pieces) - 1 else (first if i == 0 else None)
            calls.append(SendMessage(piece, markup))

    if reply.location is not None:
        calls.append(SendLocation(reply.location.lat, reply.location.lon))
    return calls


def markups(reply: Reply) -> tuple[Markup | None, Markup | None]:
    """(markup for the first text piece, markup for the last text piece)."""
    if reply.request_location:
        return None, location_keyboard(reply.choices)
    if reply.choices:
        keyboard = inline_keyboard(reply.choices)
        return (ReplyKeyboardRemove() if reply.remove_keyboard else None), keyboard
    if reply.remove_keyboard:
        return None, ReplyKeyboardRemove()
    return None, None


def _photos(
    photos: list[str], caption: str, markup: Markup | None, *, kind: str = PHOTO
) -> list[BotCall]:
    """Photos (or documents) one by one or in albums of up to 10, voices one by one; the
    caption (and `markup`) on the first."""
    calls: list[BotCall] = []
    as_documents = kind == DOCUMENT
    if kind == VOICE:
        for i, ref in enumerate(photos):
            first = i == 0
            calls.append(
                SendVoice(
                    ref,
                    caption=(caption or None) if first else None,
                    reply_markup=markup if first else None,
                )
            )
        return calls
    for start in range(0, len(photos), MAX_ALBUM):
        batch = photos[start : start + MAX_ALBUM]
        text = caption if start == 0 else ""
        if len(batch) == 1 and as_documents:
            calls.append(SendDocument(batch[0], caption=text or None, reply_markup=markup))
        elif len(batch) == 1:
            calls.append(SendPhoto(batch[0], caption=text or None, reply_markup=markup))
        elif as_documents:
            documents = [
                InputMediaDocument(ref, caption=text if i == 0 and text else None)
                for i, ref in enumerate(batch)
            ]
            calls.append(SendMediaGroup(documents))
        else:
            media = [
                InputMediaPhoto(ref, caption=text if i == 0 and text else None)
                for i, ref in enumerate(batch)
            ]
            calls.append(SendMediaGroup(media))
    return calls


def _split_last_line(text: str) -> list[str]:
    """Split before the last line so two markups can travel on two messages."""
    head, sep, tail = text.rstrip().rpartition("\n")
    if not sep or not head.strip() or not tail.strip():
        return [text]
    return [head.rstrip(), tail.strip()]
