"""Replies as Cloud API message objects: text, reply buttons, lists, location requests, images.

`render` turns one `Reply` into the message objects (without the recipient) that say it, in
order; `WhatsAppSender.send` posts them. A reply that cannot be sent raises `SendError(DEAD)`
here, before anything is sent.

- text: ``type=text``, split at 4096 characters;
- up to 3 choices: reply buttons (titles at most 20 characters, shortened at a word);
  4 to 10: a list message (row titles at most 24, descriptions at most 72); more: numbered text;
- the location question: an interactive ``location_request_message``;
- a `StatusNotice` outside the 24-hour window goes as the configured template
  (`template_message`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from channels.base import SendError, SendFailure, utf16_fit, utf16_len
from intake.types import ChannelCapabilities, Choice, Reply, StatusNotice

MAX_TEXT = 4096  # a text message body
MAX_INTERACTIVE_BODY = 1024  # body of reply buttons and of a location request
MAX_LIST_BODY = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_LIST_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_ROW_ID = 200
MAX_LIST_BUTTON = 20
CAPABILITIES = ChannelCapabilities(buttons=True, photos=True, location=True, max_text=MAX_TEXT)
LIST_BUTTON_LABEL = "Pilih / Choose"  # when the reply's language is unknown
LOCATION_PROMPT = "📍 Kirim lokasi / Send location"
_WORDS = {"id": ("Pilih", "📍 Kirim lokasi"), "en": ("Choose", "📍 Send location")}

_DIGITS = re.compile(r"\+?\d{5,20}")


def shorten(text: str, limit: int) -> str:
    """`text` on one line in at most `limit` characters, cut at a word and marked with "…"."""
    text = " ".join(text.split())
    if utf16_len(text) <= limit:
        return text
    head = text[: utf16_fit(text, limit - 1)]
    space = head.rfind(" ")
    if space >= len(head) // 2:
        head = head[:space]
    return head.rstrip(" ,.;:-/(") + "…"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most `limit` characters, cut at a paragraph, a line or a space."""
    pieces: list[str] = []
    rest = text.strip()
    while utf16_len(rest) > limit:
        cut = utf16_fit(rest, limit)
        at, skip = cut, 0
        for sep in ("\n\n", "\n", " "):
            i = rest[: cut + len(sep)].rfind(sep)  # a break just past the window fits too
            if i >= cut // 2:
                at, skip = i, len(sep)
                break
        pieces.append(rest[:at].rstrip())
        rest = rest[at + skip :].lstrip()
    if rest or not pieces:
        pieces.append(rest)
    return [p for p in pieces if p] or [""]


def _unique_titles(labels: Sequence[str], limit: int) -> list[str]:
    """Shortened titles, made distinct (WhatsApp refuses two buttons with the same title)."""
    titles: list[str] = []
    for label in labels:
        title = shorten(label, limit) or "-"
        n = 2
        while title.casefold() in (t.casefold() for t in titles):
            suffix = f" ({n})"
            title = shorten(label, limit - len(suffix)) + suffix
            n += 1
        titles.append(title)
    return titles


def _check_id(value: str, limit: int) -> str:
    if not 0 < len(value) <= limit:
        raise SendError(
            SendFailure.DEAD, f"choice value {value[:20]!r} must be 1-{limit} characters"
        )
    return value


def _body_and_rest(text: str, limit: int, default: str) -> tuple[list[str], str]:
    """(text messages to send first, the body of the interactive message that ends the reply)."""
    if not text.strip():
        return [], default
    pieces = split_text(text, MAX_TEXT)
    tail = split_text(pieces.pop(), limit)
    return pieces + tail[:-1], tail[-1]


def _text_message(text: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": text, "preview_url": False}}


def reply_buttons(body: str, choices: Sequence[Choice]) -> dict[str, Any]:
    titles = _unique_titles([c.label or c.value for c in choices], MAX_BUTTON_TITLE)
    buttons = [
        {"type": "reply", "reply": {"id": _check_id(c.value, MAX_BUTTON_ID), "title": title}}
        for c, title in zip(choices, titles, strict=True)
    ]
    return {
        "type": "interactive",
        "interactive": {"type": "button", "body": {"text": body}, "action": {"buttons": buttons}},
    }


def list_message(
    body: str, choices: Sequence[Choice], button: str = LIST_BUTTON_LABEL
) -> dict[str, Any]:
    titles = _unique_titles([c.label or c.value for c in choices], MAX_ROW_TITLE)
    rows = []
    for choice, title in zip(choices, titles, strict=True):
        row = {"id": _check_id(choice.value, MAX_ROW_ID), "title": title}
        label = " ".join((choice.label or choice.value).split())
        description = choice.description or (label if title != label else "")
        if description:
            row["description"] = shorten(description, MAX_ROW_DESCRIPTION)
        rows.append(row)
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": body},
            "action": {
                "button": shorten(button, MAX_LIST_BUTTON),
                "sections": [{"rows": rows}],
            },
        },
    }


def location_request(body: str) -> dict[str, Any]:
    return {
        "type": "interactive",
        "interactive": {
            "type": "location_request_message",
            "body": {"text": body},
            "action": {"name": "send_location"},
        },
    }


def numbered(text: str, choices: Sequence[Choice]) -> str:
    lines = []
    for number, choice in enumerate(choices, start=1):
        hint = f" ({choice.description})" if choice.description else ""
        lines.append(f"{number}. {choice.label or choice.value}{hint}")
    return "\n\n".join(p for p in (text.strip(), "\n".join(lines)) if p)


def _image(ref: str, caption: str) -> dict[str, Any]:
    link = ref.startswith(("https://", "http://"))
    image: dict[str, Any] = {"link": ref} if link else {"id": ref}
    if caption:
        image["caption"] = caption
    return {"type": "image", "image": image}


def render(reply: Reply) -> list[dict[str, Any]]:
    """The message objects (without recipient) that together say `reply`, in order."""
    text = reply.text if reply.text.strip() else ""
    choose, share = _WORDS.get(getattr(reply, "lang", ""), (LIST_BUTTON_LABEL, LOCATION_PROMPT))
    choices: Sequence[Choice] = reply.choices
    interactive = bool(choices) or reply.request_location
    out: list[dict[str, Any]] = []
    if reply.photos:
        single = len(reply.photos) == 1
        caption = text if single and not interactive and utf16_len(text) <= MAX_CAPTION else ""
        out += [_image(ref, caption if i == 0 else "") for i, ref in enumerate(reply.photos)]
        if caption:
            text = ""
    if len(choices) > MAX_LIST_ROWS:
        text, choices = numbered(text, choices), ()
    if choices:
        few = len(choices) <= MAX_BUTTONS
        limit = MAX_INTERACTIVE_BODY if few else MAX_LIST_BODY
        pieces, body = _body_and_rest(text, limit, choose)
        out += [_text_message(p) for p in pieces]
        out.append(reply_buttons(body, choices) if few else list_message(body, choices, choose))
        if reply.request_location:  # one interactive per message: the location button follows
            out.append(location_request(share))
    elif reply.request_location:
        pieces, body = _body_and_rest(text, MAX_INTERACTIVE_BODY, share)
        out += [_text_message(p) for p in pieces]
        out.append(location_request(body))
    elif text:
        out += [_text_message(p) for p in split_text(text, MAX_TEXT)]
    if reply.location is not None:
        point = {"latitude": reply.location.lat, "longitude": reply.location.lon}
        out.append({"type": "location", "location": point})
    if not out:
        raise SendError(SendFailure.DEAD, "empty reply: no text, choices, photos or location")
    return out


def template_message(name: str, language: str, notice: StatusNotice) -> dict[str, Any]:
    """The status template: body parameters {{1}} = ticket, {{2}} = status label."""
    parameters = [
        {"type": "text", "text": _template_parameter(value)}
        for value in (notice.ticket, notice.status)
    ]
    return {
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": language},
            "components": [{"type": "body", "parameters": parameters}],
        },
    }


def _template_parameter(value: str) -> str:
    # Template parameters may not hold new lines, tabs or more than 4 consecutive spaces.
    return " ".join(value.split())[:1000] or "-"


def recipient(chat_id: str) -> dict[str, str]:
    """A phone number goes in "to"; a business-scoped user id ("ID.123...") in "recipient"."""
    if _DIGITS.fullmatch(chat_id):
        return {"to": chat_id.lstrip("+")}
    return {"recipient": chat_id}
