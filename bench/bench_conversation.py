"""How many messages a citizen needs to file a report: scripted citizens on the real pipeline.

Each conversation in `bench/conversations.toml` is a citizen on one channel (telegram, whatsapp,
sms, console) who types colloquial Indonesian, Javanese or English. A turn is a fixed message
(text, a GPS pin, a photo, a voice note, a sticker) or a policy that reads the bot's last reply:
`{answer = "yes"}` presses the button (Telegram, WhatsApp) or types the number (SMS, console) of
the choice meaning "yes", `{answer = "yes", say = "iya bener"}` types it in their own words and
retries with the button when that is not understood, `{choice = 2}` / `{label = 2}` answer with
the second choice / type its title. Citizens adapt: a policy whose answer is not on offer
answers the question actually asked, `for = "location"` holds a typed place until the bot asks
for it, and when the script runs out a citizen who wants a report keeps answering from what
they know (`[conversation.citizen]`) until it is filed or they give up after `--cap` messages.
So scripts keep working as the flow changes, and the counts measure the flow.

The service is the one `lapor serve` runs (bot.service.Service on config.example.toml), on a
fresh SQLite database per conversation (a copy of one migrated file, on /dev/shm when there is
one), so one script's report never shows up as a similar open report in another's. Messages go
through each platform's real parser (`channels.telegram.parse_update`, a WhatsApp webhook into
`channels.whatsapp.parse_webhook`, a Twilio form into `channels.sms.twilio.parse_webhook`,
`ConsoleChannel.parse`) into `service.pipeline.accept`; `service.dispatcher.drain()` then hands
the replies to a capturing sender with the channel's real capabilities, and the citizen sees
them as that channel renders them (inline or location keyboard, reply buttons or a list,
numbered SMS text) and answers accordingly.

A reply counts as "not understood" when it contains a catalogue text that says so
(not_understood, stale_choice, unsupported, description_too_short, voice_not_supported,
location_unknown, location_outside), or asks the very same question again (same text, same
choices) without acknowledging anything and without the citizen having asked (help, restart,
language). Texts are recognised by turning the catalogue (intake/texts.py, with the
configuration's overrides, every language and channel variant) into patterns, never by
sentences written here.

    python bench/bench_conversation.py            # the table (about 20 s)
    python bench/bench_conversation.py --json     # the same figures, per conversation too
    python bench/bench_conversation.py --only ID  # replay one (or 'sms-*,tg-batal'), verbosely
    options: --cap 25 (messages before a citizen gives up), --concurrency 4, --scripts PATH
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import io
import itertools
import json
import logging
import os
import re
import shutil
import statistics
import string
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.compose import Service, prepare_database  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from channels import console as console_channel  # noqa: E402
from channels import sms, telegram, whatsapp  # noqa: E402
from channels.base import FetchedMedia, Sent  # noqa: E402
from channels.sms import twilio as sms_twilio  # noqa: E402
from intake.commands import parse_command  # noqa: E402
from intake.texts import CATALOGUE, LANGUAGES, VARIANTS, Texts  # noqa: E402
from intake.types import ChannelCapabilities, InboundMessage, MediaRef, Reply  # noqa: E402

SCRIPTS = Path(__file__).with_name("conversations.toml")
CHANNELS = ("telegram", "whatsapp", "sms", "console")
DEFAULT_CAP = 25
GOALS = {
    "gps_photo": "(a) report with GPS and photo",
    "all_at_once": "(b) text+pin+photo sent at once",
}
OUTCOMES = ("filed", "supported", "cancelled", "declined", "abandoned", "gave_up")

# Catalogue keys (intake/texts.py) by what they mean to the citizen.
NOT_UNDERSTOOD = (
    "not_understood",
    "stale_choice",
    "unsupported",
    "description_too_short",
    "voice_not_supported",
    "location_unknown",
    "location_outside",
)
ASKED_FOR = ("help", "language_set")  # the citizen asked: the question repeated is no re-ask
ACKNOWLEDGED = (  # something was kept: the question asked again is progress
    "photo_received",
    "location_found",
    "description_truncated",
    "photos_limit",
    "photo_before_description",
    "location_before_description",
    "photo_received_privacy",
    "album_received",
    "held_before_consent",
    "voice_received",
    "voice_as_description",
)
# What a turn with `for = "..."` waits for: the catalogue keys of those questions.
QUESTIONS = {
    "consent": ("greeting", "held_before_consent", "consent_hint"),
    "description": (
        "ask_description",
        "description_too_short",
        "voice_not_supported",
        "photo_before_description",
        "location_before_description",
    ),
    "category": ("confirm_category", "choose_category"),
    "location": (
        "ask_location",
        "ask_location_text",
        "location_outside",
        "location_unknown",
        "choose_kelurahan",
    ),
    "photos": ("ask_photos", "photo_received", "photo_received_privacy", "album_received"),
    "privacy": ("ask_privacy",),
    "summary": ("summary", "privacy_hint", "duplicate_offer"),
}
REPORT_QUESTIONS = frozenset(key for keys in QUESTIONS.values() for key in keys)
WAIT_FOR = 3  # questions answered from what the citizen knows before saying it anyway
ENDINGS = {  # catalogue key -> outcome
    "filed": "filed",
    "supported": "supported",
    "cancelled": "cancelled",
    "consent_declined": "declined",
}
# Questions the adaptive citizen knows how to answer (see Conversation._auto).
ANSWERS = (
    "greeting",
    "confirm_category",
    "choose_category",
    "ask_location",
    "ask_location_text",
    "location_outside",
    "location_unknown",
    "choose_kelurahan",
    "ask_photos",
    "photo_received",
    "photo_received_privacy",
    "album_received",
    "held_before_consent",
    "consent_hint",
    "ask_privacy",
    "summary",
    "privacy_hint",
    "duplicate_offer",
    "ask_edit",
    "ask_description",
    "idle",
    "nothing_to_cancel",
)
MIN_LITERAL = 12  # shorter templates are button labels ("Ya", "Selesai"), not messages


# --------------------------------------------------------------------------------------------
# Recognising the bot's texts


@dataclass(frozen=True)
class Pattern:
    key: str
    lang: str
    regex: re.Pattern[str]
    weight: float  # literal characters: the longer, the surer


@dataclass(frozen=True)
class Found:
    key: str
    lang: str
    start: int
    end: int
    text: str


def _template_regex(template: str) -> tuple[str, int]:
    """A pattern for the rendered template (placeholders match anything) and its literal size."""
    parts = list(string.Formatter().parse(template))
    out: list[str] = []
    literal = 0
    for i, (text, name, _spec, _conv) in enumerate(parts):
        out.append(re.escape(text))
        literal += len(text.strip())
        if name is None:
            continue
        if i == 0 and not text:  # nothing before it: stay on the line the text starts on
            out.append(r"[^\n]*?")
        elif i == len(parts) - 1:  # nothing after it: to the end of the line
            out.append(r"[^\n]*")
        else:
            out.append(r".*?")
    return "".join(out), literal


def check_keys() -> None:
    """Every catalogue key the bench relies on must still exist (renamed: fix the bench)."""
    used = {*NOT_UNDERSTOOD, *ASKED_FOR, *ACKNOWLEDGED, *ENDINGS, *ANSWERS}
    used.update(REPORT_QUESTIONS)
    missing = sorted(used - set(CATALOGUE))
    if missing:
        raise SystemExit(
            f"intake/texts.py has no {', '.join(missing)}: update {Path(__file__).name}"
        )


class TextCatalogue:
    """Finds which catalogue entries (any language, any channel variant) a reply contains."""

    def __init__(self, texts: Texts) -> None:
        seen: set[tuple[str, str]] = set()
        self.patterns: list[Pattern] = []
        for key in CATALOGUE:
            for lang in LANGUAGES:
                for variant in ("", *VARIANTS):
                    template = texts.get(key, lang, variant=variant).strip()
                    if (key, template) in seen:
                        continue
                    seen.add((key, template))
                    self._add(key, lang, template, 1.0)
                    head = template.split(". ", 1)[0]
                    if head != template:  # the flow sometimes says only the first sentence
                        self._add(key, lang, head + ".", 0.5)

    def _add(self, key: str, lang: str, template: str, factor: float) -> None:
        source, literal = _template_regex(template)
        if literal >= MIN_LITERAL:
            self.patterns.append(
                Pattern(key, lang, re.compile(source, re.DOTALL), literal * factor)
            )

    def find(self, text: str) -> list[Found]:
        """The entries in `text`, in order; overlapping candidates: the most literal one wins."""
        candidates = [
            (p.weight, Found(p.key, p.lang, m.start(), m.end(), m.group(0)))
            for p in self.patterns
            for m in p.regex.finditer(text)
            if m.end() > m.start()
        ]
        candidates.sort(key=lambda c: -c[0])
        chosen: list[Found] = []
        for _, found in candidates:
            if all(found.end <= c.start or found.start >= c.end for c in chosen):
                chosen.append(found)
        return sorted(chosen, key=lambda f: f.start)


# --------------------------------------------------------------------------------------------
# What the bot said, as each channel shows it, and how a citizen answers a choice there


@dataclass
class Shown:
    """One reply as the citizen sees it."""

    reply: Reply
    view: str  # rendered as the channel renders it
    found: list[Found] = field(default_factory=list)
    # What answering choice i sends: ("choice", value, title) or ("text", text)
    answers: list[tuple[str, ...]] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)  # the choices' titles as shown


class CapturingSender:
    """A ChannelSender with a real channel's name and capabilities that keeps what it sends."""

    def __init__(self, name: str, capabilities: ChannelCapabilities) -> None:
        self.name = name
        self.capabilities = capabilities
        self.sent: list[tuple[str, Reply]] = []

    async def send(self, chat_id: str, reply: Reply) -> Sent:
        self.sent.append((chat_id, reply))
        return Sent(external_id=f"out-{len(self.sent)}")

    async def fetch_media(self, media: MediaRef) -> FetchedMedia:
        return FetchedMedia(TINY_JPEG, "image/jpeg")

    async def aclose(self) -> None:
        return None


TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c"
    "1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc000"
    "0b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400"
    "b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c1"
    "1552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a63"
    "6465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6"
    "b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008"
    "010100003f00fbd3ffd9"
)


def _flat(rows: Iterable[Iterable[Any]]) -> list[Any]:
    return [button for row in rows for button in row]


def show_telegram(reply: Reply) -> Shown:
    lines = [reply.text]
    answers: list[tuple[str, ...]] = []
    titles: list[str] = []
    if reply.request_location:  # a one-time reply keyboard: pressing a label sends it as text
        buttons = _flat(telegram.location_keyboard(reply.choices).keyboard)
        titles = [b.text for b in buttons[1:]]
        answers = [("text", t) for t in titles]
        lines.append("  [keyboard] " + " | ".join(b.text for b in buttons))
    elif reply.choices:
        buttons = _flat(telegram.inline_keyboard(reply.choices).inline_keyboard)
        titles = [b.text for b in buttons]
        answers = [("choice", b.callback_data, b.text, "callback") for b in buttons]
        lines.append("  [buttons] " + " | ".join(titles))
    return Shown(reply, "\n".join(lines), answers=answers, titles=titles)


def show_whatsapp(reply: Reply) -> Shown:
    lines: list[str] = []
    answers: list[tuple[str, ...]] = []
    titles: list[str] = []
    for message in whatsapp.render(reply):
        if message["type"] == "text":
            lines.append(message["text"]["body"])
            continue
        if message["type"] != "interactive":
            lines.append(f"[{message['type']}]")
            continue
        interactive = message["interactive"]
        lines.append(interactive["body"]["text"])
        via = interactive["type"] + "_reply"
        if interactive["type"] == "button":
            rows = [b["reply"] for b in interactive["action"]["buttons"]]
            lines.append("  [buttons] " + " | ".join(r["title"] for r in rows))
        elif interactive["type"] == "list":
            rows = _flat(s["rows"] for s in interactive["action"]["sections"])
            lines.append("  [list] " + " | ".join(r["title"] for r in rows))
        else:
            rows = []
            lines.append("  [location request]")
        if rows:
            titles = [r["title"] for r in rows]
            answers = [("choice", r["id"], r["title"], via) for r in rows]
    if reply.choices and not answers:  # too many for a list: numbered text
        titles = [c.label for c in reply.choices]
        answers = [("text", str(n)) for n in range(1, len(reply.choices) + 1)]
    return Shown(reply, "\n".join(lines), answers=answers, titles=titles)


_NUMBERED = re.compile(r"^(\d{1,2})\. (.+)$", re.MULTILINE)


def show_sms(reply: Reply) -> Shown:
    view = sms.render(reply)
    titles = [m.group(2) for m in _NUMBERED.finditer(view)][-len(reply.choices) :]
    if not reply.choices:
        titles = []
    answers = [("text", str(n)) for n in range(1, len(titles) + 1)]
    return Shown(reply, view, answers=answers, titles=titles)


def show_console(reply: Reply) -> Shown:
    lines = [reply.text]
    for number, choice in enumerate(reply.choices, start=1):
        hint = f" ({choice.description})" if choice.description else ""
        lines.append(f"     {number}. {choice.label}{hint}")
    if reply.request_location:
        lines.append("     (kirim lokasi: /lokasi <lat> <lon>)")
    titles = [c.label for c in reply.choices]
    answers = [("text", str(n)) for n in range(1, len(titles) + 1)]
    return Shown(reply, "\n".join(lines), answers=answers, titles=titles)


# --------------------------------------------------------------------------------------------
# What a citizen sends, as each platform delivers it


@dataclass(frozen=True)
class Out:
    """One citizen message before the platform wraps it."""

    kind: str  # text | choice | location | photo | voice | sticker
    text: str = ""
    value: str = ""  # choice: the button's id
    lat: float = 0.0
    lon: float = 0.0
    album: str = ""
    via: str = ""  # choice: how the platform carries it (callback, button_reply, list_reply)

    def describe(self) -> str:
        match self.kind:
            case "choice":
                return f"[presses {self.text!r}]"
            case "location":
                name = f" {self.text}" if self.text else ""
                return f"[pin {self.lat:.5f}, {self.lon:.5f}{name}]"
            case "photo":
                album = f" album {self.album}" if self.album else ""
                return f"[photo{album}]" + (f" {self.text}" if self.text else "")
            case "voice":
                return "[voice note]"
            case "sticker":
                return "[sticker]"
        return self.text


_counter = itertools.count(1)


class Platform:
    """Builds the platform's payload for a citizen message and parses it with the real adapter."""

    name = ""
    capabilities = ChannelCapabilities()
    show: Callable[[Reply], Shown] = staticmethod(show_console)

    def __init__(self, n: int) -> None:
        self.n = n

    @property
    def chat_id(self) -> str:
        raise NotImplementedError

    def inbound(self, out: Out) -> list[tuple[InboundMessage, Any]]:
        raise NotImplementedError


class TelegramCitizen(Platform):
    name = telegram.CHANNEL
    capabilities = telegram.CAPABILITIES
    show = staticmethod(show_telegram)

    def __init__(self, n: int, lang: str) -> None:
        super().__init__(n)
        self.user = {
            "id": 880000000 + n,
            "is_bot": False,
            "first_name": f"Warga{n}",
            "language_code": "en" if lang == "en" else "id",
        }

    @property
    def chat_id(self) -> str:
        return str(self.user["id"])

    def inbound(self, out: Out) -> list[tuple[InboundMessage, Any]]:
        now = int(time.time())
        chat = {"id": self.user["id"], "type": "private", "first_name": self.user["first_name"]}
        n = next(_counter)
        if out.kind == "choice":
            bot = {"id": 1, "is_bot": True, "first_name": "Lapor"}
            message = {"message_id": n, "date": now, "chat": chat, "from": bot, "text": "..."}
            query = {
                "id": f"cb{n}",
                "from": self.user,
                "chat_instance": "bench",
                "data": out.value,
                "message": message,
            }
            update = {"update_id": n, "callback_query": query}
        else:
            content: dict[str, Any]
            match out.kind:
                case "location":
                    content = {"location": {"latitude": out.lat, "longitude": out.lon}}
                    if out.text:
                        content = {"venue": {**content, "title": out.text, "address": ""}}
                case "photo":
                    size = {"file_unique_id": f"u{n}", "width": 1280, "height": 960}
                    content = {"photo": [{"file_id": f"tg-photo-{n}", **size, "file_size": 90000}]}
                    if out.text:
                        content["caption"] = out.text
                    if out.album:
                        content["media_group_id"] = f"{self.n}-{out.album}"
                case "voice":
                    voice = {"file_id": f"v{n}", "file_unique_id": f"vu{n}", "duration": 7}
                    content = {"voice": {**voice, "mime_type": "audio/ogg"}}
                case "sticker":
                    sticker = {"file_id": f"s{n}", "file_unique_id": f"su{n}", "type": "regular"}
                    flags = {"width": 512, "height": 512, "is_animated": False, "is_video": False}
                    content = {"sticker": {**sticker, **flags}}
                case _:
                    content = {"text": out.text}
            message = {"message_id": n, "from": self.user, "chat": chat, "date": now, **content}
            update = {"update_id": n, "message": message}
        events = telegram.parse_update(update, now=datetime.now(UTC))
        return [(m, update) for m in events.messages]


class WhatsAppCitizen(Platform):
    name = whatsapp.CHANNEL
    capabilities = whatsapp.CAPABILITIES
    show = staticmethod(show_whatsapp)

    @property
    def chat_id(self) -> str:
        return f"62857{self.n:08d}"

    def inbound(self, out: Out) -> list[tuple[InboundMessage, Any]]:
        n = next(_counter)
        content: dict[str, Any]
        match out.kind:
            case "choice":
                kind = out.via or "button_reply"
                reply = {"id": out.value, "title": out.text}
                content = {"type": "interactive", "interactive": {"type": kind, kind: reply}}
            case "location":
                point: dict[str, Any] = {"latitude": out.lat, "longitude": out.lon}
                if out.text:
                    point["name"] = out.text
                content = {"type": "location", "location": point}
            case "photo":
                image: dict[str, Any] = {"id": f"wa-media-{n}", "mime_type": "image/jpeg"}
                if out.text:
                    image["caption"] = out.text
                content = {"type": "image", "image": image}
            case "voice":
                audio = {
                    "id": f"wa-voice-{n}",
                    "mime_type": "audio/ogg; codecs=opus",
                    "voice": True,
                }
                content = {"type": "audio", "audio": audio}
            case "sticker":
                content = {
                    "type": "sticker",
                    "sticker": {"id": f"st{n}", "mime_type": "image/webp"},
                }
            case _:
                content = {"type": "text", "text": {"body": out.text}}
        message = {
            "from": self.chat_id,
            "id": f"wamid.bench{n}",
            "timestamp": str(int(time.time())),
        }
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": "bench"},
            "contacts": [{"profile": {"name": f"Warga {self.n}"}, "wa_id": self.chat_id}],
            "messages": [{**message, **content}],
        }
        payload = {
            "object": "whatsapp_business_account",
            "entry": [{"id": "waba", "changes": [{"field": "messages", "value": value}]}],
        }
        events = whatsapp.parse_webhook(payload, now=datetime.now(UTC))
        return [(m.message, m.raw) for m in events.messages]


class SmsCitizen(Platform):
    name = sms.CHANNEL
    capabilities = sms.CAPABILITIES
    show = staticmethod(show_sms)

    @property
    def chat_id(self) -> str:
        return f"+62812{self.n:07d}"

    def inbound(self, out: Out) -> list[tuple[InboundMessage, Any]]:
        if out.kind != "text":
            raise ValueError(f"SMS carries only text, not {out.kind}")
        n = next(_counter)
        sid = f"SM{n:032x}"  # Twilio's form: SM and 32 hex digits (others are ignored)
        form = {"MessageSid": sid, "From": self.chat_id, "To": "+6281100000000"}
        form["Body"] = out.text
        events = sms_twilio.parse_webhook(form, datetime.now(UTC))
        if not events.messages:
            raise ValueError(f"the Twilio form was not read as a message: {events.ignored}")
        return [(m, form) for m in events.messages]


class ConsoleCitizen(Platform):
    name = console_channel.NAME
    capabilities = console_channel.CAPABILITIES
    show = staticmethod(show_console)

    def __init__(self, n: int, photo_dir: Path) -> None:
        super().__init__(n)
        self.terminal = console_channel.ConsoleChannel(io.StringIO(), chat_id=f"warga-{n}")
        self.photo_dir = photo_dir

    @property
    def chat_id(self) -> str:
        return self.terminal.chat_id

    def inbound(self, out: Out) -> list[tuple[InboundMessage, Any]]:
        match out.kind:
            case "location":
                line = f"/lokasi {out.lat} {out.lon}"
            case "photo":
                path = self.photo_dir / f"foto-{next(_counter)}.jpg"
                path.write_bytes(TINY_JPEG)
                line = f"/foto {path}"
            case "text" | "choice":
                line = out.text
            case _:
                raise ValueError(f"the console cannot send a {out.kind}")
        message = self.terminal.parse(line, datetime.now(UTC))
        return [(message, {"line": line})]


# --------------------------------------------------------------------------------------------
# Scripts


@dataclass
class Citizen:
    """What the citizen knows, to answer questions the script did not foresee."""

    description: str = ""
    place: str = ""
    pin: tuple[float, float] | None = None
    photos: int = 0
    privacy: str = "normal"
    category: str = ""
    kecamatan: str = ""
    kelurahan: str = ""
    consent: str = "agree"
    duplicate: str = "file_anyway"  # or "support"


@dataclass
class Script:
    id: str
    channel: str
    language: str
    expect: str
    turns: list[Any]
    citizen: Citizen
    goal: str = ""
    then: str = "auto"  # after the turns: "auto" keeps answering until filed, "stop" walks away
    setup: list[str] = field(default_factory=list)
    note: str = ""


TURN_KEYS = {"text", "location", "photo", "voice", "sticker", "choice", "label", "answer", "burst"}


def load_scripts(path: Path) -> list[Script]:
    with path.open("rb") as f:
        data = tomllib.load(f)
    scripts: list[Script] = []
    problems: list[str] = []
    for raw in data.get("conversation", []):
        where = raw.get("id", f"conversation {len(scripts) + 1}")
        try:
            scripts.append(_script(raw))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
    ids = Counter(s.id for s in scripts)
    problems += [f"{i}: id used {n} times" for i, n in ids.items() if n > 1]
    known = set(ids)
    problems += [f"{s.id}: setup {x!r} unknown" for s in scripts for x in s.setup if x not in known]
    if problems:
        raise SystemExit(f"{path}:\n  " + "\n  ".join(problems))
    return scripts


def _script(raw: dict[str, Any]) -> Script:
    channel = raw["channel"]
    if channel not in CHANNELS:
        raise ValueError(f"channel {channel!r} (use {', '.join(CHANNELS)})")
    expect = raw.get("expect", "filed")
    if expect not in OUTCOMES:
        raise ValueError(f"expect {expect!r} (use {', '.join(OUTCOMES)})")
    goal = raw.get("goal", "")
    if goal and goal not in GOALS:
        raise ValueError(f"goal {goal!r} (use {', '.join(GOALS)})")
    turns = list(raw["turns"])
    caps = _platform_class(channel).capabilities
    for turn in _flat_turns(turns):
        _check_turn(turn, caps)
    known = {k: v for k, v in (raw.get("citizen") or {}).items()}
    if "pin" in known:
        known["pin"] = tuple(float(x) for x in known["pin"])
    citizen = Citizen(**known)
    if not citizen.description:
        citizen.description = next(
            (t for t in _flat_turns(turns) if isinstance(t, str) and len(t.split()) >= 4), ""
        )
    if citizen.pin is None:
        pins = [
            t["location"] for t in _flat_turns(turns) if isinstance(t, dict) and "location" in t
        ]
        citizen.pin = (float(pins[0][0]), float(pins[0][1])) if pins else None
    if not citizen.place:
        citizen.place = next(
            (
                str(t["text"])
                for t in _flat_turns(turns)
                if isinstance(t, dict) and t.get("for") == "location" and "text" in t
            ),
            "",
        )
    if "photos" not in known:
        citizen.photos = sum(1 for t in _flat_turns(turns) if isinstance(t, dict) and "photo" in t)
    then = raw.get("then", "auto" if expect in ("filed", "supported") else "stop")
    if then not in ("auto", "stop"):
        raise ValueError(f"then {then!r} (use auto or stop)")
    return Script(
        id=raw["id"],
        channel=channel,
        language=raw.get("language", "id"),
        expect=expect,
        turns=turns,
        citizen=citizen,
        goal=goal,
        then=then,
        setup=list(raw.get("setup", [])),
        note=raw.get("note", ""),
    )


def _flat_turns(turns: Sequence[Any]) -> Iterable[Any]:
    for turn in turns:
        if isinstance(turn, dict) and "burst" in turn:
            yield from turn["burst"]
        else:
            yield turn


def _check_turn(turn: Any, caps: ChannelCapabilities) -> None:
    if isinstance(turn, str):
        return
    if not isinstance(turn, dict) or not (set(turn) & TURN_KEYS):
        raise ValueError(f"turn {turn!r}: a string or a table with one of {sorted(TURN_KEYS)}")
    if "for" in turn and turn["for"] not in QUESTIONS:
        raise ValueError(f"turn {turn!r}: for = one of {', '.join(QUESTIONS)}")
    if "location" in turn:
        lat, lon = (float(x) for x in turn["location"])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"turn {turn!r}: not a coordinate")
        if not caps.location:
            raise ValueError("this channel cannot send a location pin")
    if "photo" in turn and not caps.photos:
        raise ValueError("this channel cannot send photos")
    if ("voice" in turn or "sticker" in turn) and not caps.photos:
        raise ValueError("this channel carries only text")


def _platform_class(channel: str) -> type[Platform]:
    return {
        "telegram": TelegramCitizen,
        "whatsapp": WhatsAppCitizen,
        "sms": SmsCitizen,
        "console": ConsoleCitizen,
    }[channel]


# --------------------------------------------------------------------------------------------
# Running one conversation


@dataclass
class Turn:
    """One citizen message and what the bot answered."""

    sent: str
    kind: str  # text, choice, location, photo, voice, sticker
    pending: str  # the question the citizen was answering (catalogue key), "" at the start
    replies: list[str]  # the bot's replies as the channel shows them
    keys: list[str]  # catalogue entries in those replies
    not_understood: bool
    reason: str = ""  # which entry, or "same question again"
    note: str = ""  # how an adaptive turn decided


@dataclass
class Result:
    id: str
    channel: str
    language: str
    goal: str
    expect: str
    outcome: str = "abandoned"
    messages: int = 0
    to_file: int | None = None  # messages until the report was filed
    after_consent: int | None = None  # of those, sent after agreeing to the privacy notice
    not_understood: int = 0
    reports_stored: int = 0
    turns: list[Turn] = field(default_factory=list)

    @property
    def as_expected(self) -> bool:
        return self.outcome == self.expect


def _signature(shown: Sequence[Shown]) -> tuple[Any, ...] | None:
    """The question the bot's last words ask: its catalogue entry, its text and its choices."""
    for item in reversed(shown):
        if item.found:
            last = item.found[-1]
            return (last.key, last.text, tuple(c.value for c in item.reply.choices))
    return None


class Conversation:
    def __init__(
        self,
        script: Script,
        service: Service,
        sender: CapturingSender,
        platform: Platform,
        texts: TextCatalogue,
        cap: int,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.script = script
        self.service = service
        self.sender = sender
        self.platform = platform
        self.texts = texts
        self.cap = cap
        self.echo = echo
        self.result = Result(script.id, script.channel, script.language, script.goal, script.expect)
        self.last: list[Shown] = []  # the latest replies that asked something
        self.question: tuple[Any, ...] | None = None
        self.seen = 0
        self.photos_sent = 0
        self.auto_sent: Counter[str] = Counter()  # what the adaptive citizen sent unscripted
        self.previous: Out | None = None
        self.auto_texts: set[Out] = set()
        self.pages = 0  # "more" pressed while looking for a category or kelurahan
        self.ended = ""  # the latest ending the bot announced ("" while a report is open)
        self.consented_at: int | None = None

    # --- the citizen's side

    async def run(self) -> Result:
        for turn in self.script.turns:
            if self.done:
                break
            if isinstance(turn, dict) and "burst" in turn:
                for part in turn["burst"]:  # sent one after another without reading the answers
                    if self.done:
                        break
                    await self.send(self.fixed(part))
            else:
                await self.play(turn)
        while self.script.then == "auto" and not self.done:
            out, note = self.auto()
            await self.send(out, note)
        if self.result.outcome == "abandoned":
            if self.ended in ("cancelled", "declined"):
                self.result.outcome = self.ended
            elif self.result.messages >= self.cap:
                self.result.outcome = "gave_up"
        async with self.service.store.unit_of_work() as uow:
            self.result.reports_stored = await uow.reports.count()
        return self.result

    @property
    def done(self) -> bool:
        return self.result.outcome in ("filed", "supported") or self.result.messages >= self.cap

    def fixed(self, turn: Any) -> Out:
        if isinstance(turn, str):
            return Out("text", turn)
        if "text" in turn:
            return Out("text", str(turn["text"]))
        if "location" in turn:
            lat, lon = (float(x) for x in turn["location"])
            return Out("location", str(turn.get("name", "")), lat=lat, lon=lon)
        if "photo" in turn:
            caption = turn["photo"] if isinstance(turn["photo"], str) else ""
            return Out("photo", caption, album=str(turn.get("album", "")))
        if "voice" in turn:
            return Out("voice")
        if "sticker" in turn:
            return Out("sticker")
        raise ValueError(f"not a fixed turn: {turn!r}")

    async def play(self, turn: Any) -> None:
        """One scripted turn: a fixed message, or a policy that reads the bot's last reply."""
        wanted = turn.get("for", "") if isinstance(turn, dict) else ""
        policy = isinstance(turn, dict) and bool({"choice", "label", "answer"} & set(turn))
        said = None if policy else self.fixed(turn)
        for _ in range(WAIT_FOR if wanted else 0):  # first answer what the bot asks now
            if self.done or said in self.auto_texts:
                break
            if self.question and self.question[0] in QUESTIONS[wanted]:
                break
            out, note = self.auto()
            await self.send(out, f"{note}; will say it when asked for the {wanted}")
        if self.done:
            return None
        if said is not None:
            out = said
            if out.kind == "text" and out in self.auto_texts:
                return self.skip(out, "already said that")
            if out.kind == "location" and self.auto_sent["location"]:
                return self.skip(out, "already shared the location")
            if out.kind == "photo" and self.auto_sent["photo"] >= self.script.citizen.photos:
                return self.skip(out, "already sent the photos")
            return await self.send(out)
        shown = self.asking()
        by = turn.get("by", "label" if "label" in turn else "press")
        if "answer" in turn and turn["answer"] != "auto":
            index = self.find_choice(shown, str(turn["answer"]))
            if index is None:  # the bot asks something else: answer that instead
                out, note = self.auto()
                return await self.send(out, f"{turn['answer']!r} not offered; {note}")
        elif "answer" in turn:
            out, note = self.auto()
            return await self.send(out, note)
        else:
            index = int(turn.get("choice", turn.get("label", 1))) - 1
        if shown is None or not 0 <= index < len(shown.answers):
            return await self.send(Out("text", str(index + 1)), "no such choice: typed it")
        if "say" in turn:  # typed in their own words; not understood: press it / type the number
            await self.send(Out("text", str(turn["say"])))
            if self.result.turns[-1].not_understood and not self.done:
                await self.send(self.pick(shown, index), "retries with the choice")
            return None
        return await self.send(self.pick(shown, index, by))

    def skip(self, out: Out, why: str) -> None:
        if self.echo:
            self.echo(f"\n   warga  (does not send {out.describe()}: {why})")

    def asking(self) -> Shown | None:
        for shown in reversed(self.last):
            if shown.answers:
                return shown
        return None

    @staticmethod
    def find_choice(shown: Shown | None, wanted: str) -> int | None:
        if shown is None:
            return None
        wanted = wanted.casefold()
        for i, choice in enumerate(shown.reply.choices):
            value = choice.value.casefold()
            if wanted in (value, value.rsplit(":", 1)[-1], choice.label.casefold()):
                return i
        return None

    def pick(self, shown: Shown, index: int, by: str = "press") -> Out:
        if by == "number":
            return Out("text", str(index + 1))
        if by == "label":
            return Out("text", shown.titles[index] if index < len(shown.titles) else "")
        answer = shown.answers[index]
        if answer[0] == "choice":
            return Out("choice", answer[2], value=answer[1], via=answer[3])
        return Out("text", answer[1])

    def auto(self) -> tuple[Out, str]:
        """Answer whatever is being asked from what the citizen knows."""
        out, note = self._auto()
        stuck = self.result.turns and self.result.turns[-1].not_understood
        shown = self.asking()
        if stuck and out == self.previous and shown is not None:
            # The same answer failed just now: a citizen tries the first option instead.
            out, note = self.pick(shown, 0), note + ", tries the first choice"
        if out.kind in ("location", "photo"):
            self.auto_sent[out.kind] += 1
        if out.kind == "text":
            self.auto_texts.add(out)
        return out, note

    def _auto(self) -> tuple[Out, str]:
        who = self.script.citizen
        shown = self.asking()
        key = self.question[0] if self.question else ""
        note = f"auto: {key or 'no question'}"

        def choose(*wanted: str) -> tuple[Out, str] | None:
            for w in wanted:
                index = self.find_choice(shown, w) if w else None
                if shown is not None and index is not None:
                    return self.pick(shown, index), note
            return None

        def by_title(name: str) -> tuple[Out, str] | None:
            if shown is None or not name:
                return None
            for i, title in enumerate(shown.titles):
                if title.casefold() == name.casefold():
                    return self.pick(shown, i), note
            return None

        def where() -> tuple[Out, str]:
            if who.pin and self.platform.capabilities.location:
                return Out("location", lat=who.pin[0], lon=who.pin[1]), note
            return Out("text", who.place or who.kelurahan or who.kecamatan or "Madiun"), note

        match key:
            case "greeting" | "held_before_consent" | "consent_hint":
                if self.script.language == "en":
                    found = choose("lang:en")
                    if found and self.question and self.question_lang != "en":
                        return found
                return choose(who.consent) or choose("agree") or (Out("text", "ya"), note)
            case "confirm_category":
                named = self.category_name()
                suggested = self.question[1] if self.question else ""
                if not who.category or (named and named in suggested):
                    return choose("yes") or (Out("text", "ya"), note)
                return choose("other") or (Out("text", named), note)
            case "choose_category":
                if not who.category:
                    return self.first(shown, note)  # the top suggestion will do
                self.pages += 1  # looking for it: through the pages once, then anything
                more = (
                    choose("more") if self.pages <= len(self.service.catalog.categories) else None
                )
                return choose(f"cat:{who.category}") or more or self.first(shown, note)
            case "ask_location" | "ask_location_text" | "location_outside":
                return where()
            case "location_unknown":
                kecamatan = who.kecamatan or self.kecamatan_of(who.kelurahan)
                found = by_title(kecamatan) or self.named_in(shown, who.place, note)
                return found or self.first(shown, note)
            case "choose_kelurahan":
                self.pages += 1
                more = choose("more") if who.kelurahan and self.pages <= 4 else None
                return (
                    by_title(who.kelurahan)
                    or self.named_in(shown, who.place, note)
                    or more
                    or self.first(shown, note)
                )
            case "ask_photos" | "photo_received" | "album_received" | "photo_received_privacy":
                if self.photos_sent < who.photos and self.platform.capabilities.photos:
                    return Out("photo"), note
                return choose("done", "skip", who.privacy) or (Out("text", "sudah"), note)
            case "ask_privacy":
                return choose(who.privacy) or self.first(shown, note)
            case "summary" | "privacy_hint":
                return choose("send") or (Out("text", "kirim"), note)
            case "duplicate_offer":
                wanted = "support" if who.duplicate == "support" else "file_anyway"
                found = choose(wanted)
                if found is None and shown is not None and wanted == "support":
                    found = self.pick(shown, 0), note
                return found or self.first(shown, note)
            case "ask_edit":
                return choose("description") or self.first(shown, note)
            case "idle" | "cancelled" | "consent_declined" | "nothing_to_cancel":
                return choose("cmd:report") or (Out("text", who.description or "lapor"), note)
        if shown is not None and key not in ("ask_description",):
            return self.first(shown, note)
        return Out("text", who.description or "mau lapor"), note

    @property
    def question_lang(self) -> str:
        for shown in reversed(self.last):
            if shown.found:
                return shown.found[-1].lang
        return ""

    def first(self, shown: Shown | None, note: str) -> tuple[Out, str]:
        if shown is None:
            return Out("text", self.script.citizen.description or "lapor"), note
        return self.pick(shown, 0), note

    def named_in(self, shown: Shown | None, place: str, note: str) -> tuple[Out, str] | None:
        """A choice whose title the citizen's own description of the place mentions."""
        if shown is None or not place:
            return None
        for i, title in enumerate(shown.titles):
            if title and title.casefold() in place.casefold():
                return self.pick(shown, i), note
        return None

    def category_name(self) -> str:
        who = self.script.citizen
        lang = self.question_lang or "id"
        return self.service.catalog.category_name(who.category, lang) if who.category else ""

    def kecamatan_of(self, kelurahan: str) -> str:
        if not kelurahan:
            return ""
        found = self.service.catalog.gazetteer.best(kelurahan)
        return found.kecamatan if found else ""

    # --- the bot's side

    async def send(self, out: Out, note: str = "") -> None:
        before = self.question
        pending = before[0] if before else ""
        asked = False  # a command (help, restart, language): the question again is no re-ask
        for message, raw in self.platform.inbound(out):
            asked = asked or parse_command(message, self.service.catalog.ticket_prefix) is not None
            await self.service.pipeline.accept(message, raw=raw)
        await self.service.dispatcher.drain()
        self.result.messages += 1
        self.previous = out
        if out.kind == "photo":
            self.photos_sent += 1
        shown = self.replies()
        keys = [f.key for s in shown for f in s.found]
        if shown:
            self.last = shown
            self.question = _signature(shown) or self.question
        nu, reason = self.classify(keys, None if asked else before, shown)
        self.result.not_understood += nu
        views = [s.view for s in shown]
        turn = Turn(out.describe(), out.kind, pending, views, keys, nu, reason, note)
        self.result.turns.append(turn)
        if self.echo:
            self.echo_turn(turn)
        n = self.result.messages
        not_yet = {"greeting", "consent_declined", "held_before_consent", "consent_hint"}
        agreed = keys and not not_yet & set(keys)
        asked_consent = pending in QUESTIONS["consent"]
        if asked_consent and agreed and self.consented_at is None:
            self.consented_at = n
        for key in keys:
            if key in ENDINGS:
                self.ended = ENDINGS[key]
            elif key in REPORT_QUESTIONS and self.ended in ("cancelled", "declined"):
                self.ended = ""  # asked about a report again: one is open
        if self.ended in ("filed", "supported"):
            self.result.outcome = self.ended
            if self.ended == "filed":
                self.result.to_file = n
                self.result.after_consent = n - (self.consented_at or 0)

    def replies(self) -> list[Shown]:
        chat = self.platform.chat_id
        new = self.sender.sent[self.seen :]
        self.seen = len(self.sender.sent)
        shown = []
        for chat_id, reply in new:
            if chat_id != chat:
                continue  # an officers' group
            item = self.platform.show(reply)
            item.found = self.texts.find(reply.text)
            shown.append(item)
        return shown

    @staticmethod
    def classify(
        keys: Sequence[str], before: tuple[Any, ...] | None, shown: Sequence[Shown]
    ) -> tuple[bool, str]:
        for key in keys:
            if key in NOT_UNDERSTOOD:
                return True, key
        if not shown or before is None:
            return False, ""
        if any(k in ASKED_FOR or k in ACKNOWLEDGED for k in keys):
            return False, ""
        if _signature(shown) == before:
            return True, f"{before[0]} again"
        return False, ""

    def echo_turn(self, turn: Turn) -> None:
        assert self.echo is not None
        flag = f"   <-- NOT UNDERSTOOD ({turn.reason})" if turn.not_understood else ""
        how = f"   ({turn.note})" if turn.note else ""
        self.echo(f"\n{self.result.messages:>2} warga> {turn.sent}{how}{flag}")
        for view in turn.replies:
            for i, line in enumerate(view.splitlines() or [""]):
                self.echo(("   bot> " if i == 0 else "        ") + line)
        if turn.keys:
            self.echo("        {" + ", ".join(turn.keys) + "}")


# --------------------------------------------------------------------------------------------
# The service, a fresh database per conversation


class Bench:
    def __init__(self, tmp: Path, cap: int) -> None:
        self.tmp = tmp
        self.cap = cap
        self.template = tmp / "template.db"
        self.settings = self._settings(self.template)
        prepare_database(self.settings)
        self.texts = TextCatalogue(Service(self.settings).catalog.texts)
        self.count = itertools.count(1)

    def _settings(self, db: Path) -> Any:
        environ = {
            "LAPOR_STORAGE__DATABASE_URL": f"sqlite+aiosqlite:///{db}",
            "LAPOR_STORAGE__MEDIA_DIR": str(self.tmp / "media"),
        }
        return load_settings(ROOT / "config.example.toml", environ)

    def platform(self, script: Script) -> Platform:
        n = next(self.count)
        if script.channel == "telegram":
            return TelegramCitizen(n, script.language)
        if script.channel == "console":
            return ConsoleCitizen(n, self.tmp)
        return _platform_class(script.channel)(n)

    async def run(
        self,
        script: Script,
        scripts: dict[str, Script],
        echo: Callable[[str], None] | None = None,
    ) -> Result:
        db = self.tmp / f"{script.id}.db"
        shutil.copyfile(self.template, db)
        service = Service(self._settings(db))
        senders = {}
        for name in CHANNELS:
            sender = CapturingSender(name, _platform_class(name).capabilities)
            service.add_sender(sender)
            senders[name] = sender
        await service.start(workers=False)
        try:
            for other in script.setup:  # earlier citizens whose reports are already open
                before = scripts[other]
                await self._conversation(before, service, senders).run()
            result = await self._conversation(script, service, senders, echo).run()
            if script.setup:
                result.reports_stored -= len(script.setup)
            return result
        finally:
            await service.stop()
            db.unlink(missing_ok=True)

    def _conversation(
        self,
        script: Script,
        service: Service,
        senders: dict[str, CapturingSender],
        echo: Callable[[str], None] | None = None,
    ) -> Conversation:
        platform = self.platform(script)
        sender = senders[script.channel]
        return Conversation(script, service, sender, platform, self.texts, self.cap, echo)


# --------------------------------------------------------------------------------------------
# Figures


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (as `lapor stats` does)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarise(results: Sequence[Result]) -> dict[str, Any]:
    filed = [r for r in results if r.outcome == "filed"]
    to_file = [float(r.to_file) for r in filed if r.to_file is not None]
    after = [float(r.after_consent) for r in filed if r.after_consent is not None]
    messages = sum(r.messages for r in results)
    nu = sum(r.not_understood for r in results)
    return {
        "conversations": len(results),
        "filed": len(filed),
        "expected_filed": sum(1 for r in results if r.expect == "filed"),
        "as_expected": sum(1 for r in results if r.as_expected),
        "messages_median": statistics.median(to_file) if to_file else None,
        "messages_p90": percentile(to_file, 0.9),
        "after_consent_median": statistics.median(after) if after else None,
        "after_consent_p90": percentile(after, 0.9),
        "messages": messages,
        "not_understood": nu,
        "not_understood_rate": nu / messages if messages else 0.0,
        "outcomes": dict(Counter(r.outcome for r in results)),
    }


def stuck_points(results: Sequence[Result]) -> list[dict[str, Any]]:
    """The questions most often met with "not understood", with what citizens had sent."""
    by_question: dict[str, Counter[str]] = {}
    reasons: dict[str, Counter[str]] = {}
    for result in results:
        for turn in result.turns:
            if turn.not_understood:
                question = turn.pending or "(start)"
                by_question.setdefault(question, Counter())[turn.sent] += 1
                reasons.setdefault(question, Counter())[turn.reason] += 1
    rows = [
        {
            "question": q,
            "times": sum(sent.values()),
            "answers": [{"sent": s, "times": n} for s, n in sent.most_common(5)],
            "bot_said": dict(reasons[q]),
        }
        for q, sent in by_question.items()
    ]
    return sorted(rows, key=lambda r: -r["times"])


def triggers(results: Sequence[Result]) -> list[dict[str, Any]]:
    """What citizens sent that was not understood, most frequent first (pins, photos by kind)."""
    counts: Counter[tuple[str, str]] = Counter()
    for result in results:
        for turn in result.turns:
            if turn.not_understood:
                sent = turn.sent if turn.kind in ("text", "choice") else f"[{turn.kind}]"
                counts[(sent.casefold(), turn.pending or "(start)")] += 1
    return [
        {"sent": sent, "question": question, "times": n}
        for (sent, question), n in sorted(counts.items(), key=lambda c: (-c[1], c[0]))
    ]


def report(results: Sequence[Result], elapsed: float) -> dict[str, Any]:
    groups: dict[str, Any] = {}
    for channel in CHANNELS:
        members = [r for r in results if r.channel == channel]
        if members:
            groups[channel] = summarise(members)
    groups["all"] = summarise(results)
    goals = {g: summarise([r for r in results if r.goal == g]) for g in GOALS}
    languages = sorted({r.language for r in results})
    by_language = {
        lang: summarise([r for r in results if r.language == lang]) for lang in languages
    }
    return {
        "seconds": round(elapsed, 2),
        "channels": groups,
        "goals": goals,
        "languages": by_language,
        "stuck": stuck_points(results),
        "triggers": triggers(results),
        "unexpected": [
            {"id": r.id, "expected": r.expect, "outcome": r.outcome, "messages": r.messages}
            for r in results
            if not r.as_expected
        ],
        "conversations": [
            {k: v for k, v in asdict(r).items() if k != "turns"} | {"as_expected": r.as_expected}
            for r in results
        ],
    }


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.{digits}f}"


def print_table(figures: dict[str, Any], cap: int) -> None:
    head = (
        f"{'':<34} {'convs':>5} {'filed':>7} {'msgs/report':>12} {'p90':>5} "
        f"{'after consent':>14} {'p90':>5} {'not underst.':>13}"
    )

    def row(name: str, s: dict[str, Any]) -> str:
        filed = f"{s['filed']}/{s['expected_filed']}" if s["expected_filed"] else str(s["filed"])
        nu = f"{s['not_understood_rate'] * 100:.1f}%"
        return (
            f"{name:<34} {s['conversations']:>5} {filed:>7} {_num(s['messages_median']):>12} "
            f"{_num(s['messages_p90']):>5} {_num(s['after_consent_median']):>14} "
            f"{_num(s['after_consent_p90']):>5} {nu:>13}"
        )

    print("Conversation benchmark: citizen messages to file a report (real pipeline, SQLite)")
    print(head)
    for name, s in figures["channels"].items():
        if name == "all":
            print("-" * len(head))
        print(row(name, s))
    print()
    for goal, s in figures["goals"].items():
        print(row(GOALS[goal], s))
    print()
    for lang, s in figures["languages"].items():
        print(row(f"language {lang}", s))
    overall = figures["channels"]["all"]
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(overall["outcomes"].items()))
    print(
        f"\n{overall['conversations']} conversations, {overall['messages']} citizen messages, "
        f"{overall['not_understood']} not understood; outcomes: {outcomes}; "
        f"a citizen gives up after {cap} messages. {figures['seconds']} s."
    )
    print("filed = filed/expected to file; msgs/report and after consent: medians over filed.")
    if figures["unexpected"]:
        print("\nNot as the script expected:")
        for u in figures["unexpected"]:
            print(
                f"  {u['id']}: expected {u['expected']}, got {u['outcome']} ({u['messages']} msgs)"
            )
    if figures["stuck"]:
        print("\nWhere conversations got stuck (question re-asked or not understood):")
        for s in figures["stuck"][:8]:
            said = ", ".join(f"{k} {v}" for k, v in s["bot_said"].items())
            print(f"  {s['question']:<20} {s['times']:>3}x  ({said})")
            for a in s["answers"][:3]:
                print(f"      {a['times']}x after: {a['sent'][:70]}")
    if figures["triggers"]:
        print("\nMost frequent not-understood messages (what the citizen sent, at which question):")
        for t in figures["triggers"][:12]:
            print(f"  {t['times']:>3}x  {t['sent'][:50]:<52} at {t['question']}")


# --------------------------------------------------------------------------------------------


def ram_disk() -> str | None:
    """Message counts, not latency: on a RAM disk (where there is one) commits cost no fsync."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


async def run_all(
    scripts: list[Script], cap: int, chosen: list[Script], verbose: bool, concurrency: int
) -> tuple[list[Result], float]:
    by_id = {s.id: s for s in scripts}
    with tempfile.TemporaryDirectory(prefix="lapor-convbench-", dir=ram_disk()) as tmp:
        bench = await asyncio.to_thread(Bench, Path(tmp), cap)
        started = time.perf_counter()
        if not verbose:  # each conversation has its own service and database
            gate = asyncio.Semaphore(max(1, concurrency))

            async def one(script: Script) -> Result:
                async with gate:
                    return await bench.run(script, by_id)

            results = await asyncio.gather(*(one(s) for s in chosen))
            return list(results), time.perf_counter() - started
        results = []
        for script in chosen:
            echo = print if verbose else None
            if verbose:
                print(f"\n=== {script.id} ({script.channel}, {script.language}) {script.note}")
            result = await bench.run(script, by_id, echo)
            results.append(result)
            if verbose:
                print(
                    f"\n{result.id}: {result.outcome} (expected {result.expect}) after "
                    f"{result.messages} messages, {_num(result.after_consent)} after consent, "
                    f"{result.not_understood} not understood, "
                    f"{result.reports_stored} report(s) stored"
                )
        return results, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scripts", type=Path, default=SCRIPTS)
    parser.add_argument("--cap", type=int, default=DEFAULT_CAP, help="messages before giving up")
    parser.add_argument(
        "--only",
        metavar="ID",
        help="run only these conversations (ids or patterns like 'sms-*', comma-separated), "
        "showing each dialogue",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="conversations run at once (default 4)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    check_keys()
    scripts = load_scripts(args.scripts)
    chosen = scripts
    if args.only:
        patterns = [p.strip() for p in args.only.split(",") if p.strip()]
        chosen = [s for s in scripts if any(fnmatch.fnmatchcase(s.id, p) for p in patterns)]
        if not chosen:
            raise SystemExit(f"no conversation matches {args.only!r} in {args.scripts}")
    verbose = bool(args.only) and not args.json
    results, elapsed = asyncio.run(run_all(scripts, args.cap, chosen, verbose, args.concurrency))
    figures = report(results, elapsed)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
    elif len(chosen) > 1 or not args.only:
        print()
        print_table(figures, args.cap)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
