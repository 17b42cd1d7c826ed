"""Commands that work in every state of the conversation.

A command is the whole message ("batal", "/help", "english") or a keyword followed by its
argument ("cek MDN-00012", "lapor jalan depan pasar berlubang"). Ordinary sentences that merely
contain such a word are not commands: "lampunya mati, tolong dicek" stays a description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from intake.choices import strip_fillers
from intake.normalize import normalize
from intake.tickets import parse_ticket
from intake.types import InboundMessage, MessageKind


class Command(StrEnum):
    CANCEL = "cancel"
    HELP = "help"
    CHECK = "check"
    LANGUAGE = "language"
    RESTART = "restart"
    REPORT = "report"  # start a report, optionally with the description given inline


@dataclass(frozen=True)
class ParsedCommand:
    command: Command
    argument: str = ""  # the ticket, the language code, or the inline description
    code: str = ""  # CHECK: the report's access code given after the ticket


_WHOLE: dict[str, tuple[Command, str]] = {
    **{
        w: (Command.CANCEL, "")
        for w in (
            "batal",
            "cancel",
            "batalkan",
            "stop",
            "berhenti",
            "tidak jadi",
            "tidak jadi lapor",
            "batal lapor",
            "batal saja",
            "tidak sido",
            "mboten sios",
            "never mind",
            "nevermind",
            "forget it",
        )
    },
    **{
        w: (Command.HELP, "")
        for w in ("bantuan", "help", "menu", "?", "tolong bantu", "bingung", "caranya bagaimana")
    },
    **{
        w: (Command.RESTART, "")
        for w in (
            "ulang",
            "ulangi",
            "mulai",
            "mulai lagi",
            "restart",
            "start",
            "salah ulang",
            "salah ulangi",
            "ulang dari awal",
            "mulai dari awal",
            "start over",
            "baleni",
        )
    },
    **{w: (Command.LANGUAGE, "en") for w in ("english", "inggris", "bahasa inggris", "en")},
    **{
        w: (Command.LANGUAGE, "id")
        for w in ("indonesia", "bahasa indonesia", "bahasa", "indonesian", "id")
    },
    **{
        w: (Command.REPORT, "")
        for w in (
            "lapor",
            "report",
            "laporan baru",
            "buat laporan",
            "mau lapor",
            "saya mau lapor",
            "ingin lapor",
            "saya ingin lapor",
            "mau buat laporan",
            "mau ngadu",
            "pengaduan",
            "badhe lapor",
            "arep lapor",
            "i want to report",
            "new report",
        )
    },
    **{w: (Command.CHECK, "") for w in ("cek", "check", "status", "cek status")},
}

_WITH_ARGUMENT: dict[str, Command] = {
    "cek": Command.CHECK,
    "check": Command.CHECK,
    "status": Command.CHECK,
    "lapor": Command.REPORT,
    "report": Command.REPORT,
}

# "MDN-00042 K7M3QX": a ticket, then a report's access code (letters and digits).
_TICKET_AND_CODE = re.compile(r"(.+?)\s+([A-Za-z0-9]{4,12})")

LANGUAGE_CHOICE_PREFIX = "lang:"
COMMAND_CHOICE_PREFIX = "cmd:"  # a button that runs a command, e.g. "cmd:report"


def parse_command(message: InboundMessage, ticket_prefix: str) -> ParsedCommand | None:
    if message.kind is MessageKind.CHOICE and message.choice:
        if message.choice.startswith(LANGUAGE_CHOICE_PREFIX):
            return ParsedCommand(Command.LANGUAGE, message.choice[len(LANGUAGE_CHOICE_PREFIX) :])
        if message.choice.startswith(COMMAND_CHOICE_PREFIX):
            name = message.choice[len(COMMAND_CHOICE_PREFIX) :]
            if name in Command.__members__.values():
                return ParsedCommand(Command(name))
        return None
    if message.kind not in (MessageKind.TEXT, MessageKind.COMMAND):
        return None
    raw = message.text.strip()
    if message.kind is MessageKind.COMMAND and raw.split(" ", 1)[0].lower() == "start":
        return ParsedCommand(Command.RESTART)
    if raw and set(raw) <= {"?", " "}:
        return ParsedCommand(Command.HELP)  # "?" has no letters left once normalised
    whole = normalize(raw)
    if whole in _WHOLE:
        return ParsedCommand(*_WHOLE[whole])
    core = strip_fillers(whole)  # "gak jadi deh min", "eh salah, ulang", "mau lapor kak"
    if core in _WHOLE:
        return ParsedCommand(*_WHOLE[core])
    if is_status_question(whole):
        tickets = (parse_ticket(word, ticket_prefix) for word in raw.split())
        return ParsedCommand(Command.CHECK, next((t for t in tickets if t), ""))
    keyword, _, rest = raw.partition(" ")
    command = _WITH_ARGUMENT.get(keyword.strip().lower().rstrip(":"))
    rest = rest.strip()
    if command is Command.CHECK:
        ticket, code = parse_ticket(rest, ticket_prefix), ""
        if ticket is None and (found := _TICKET_AND_CODE.fullmatch(rest)):
            ticket, code = parse_ticket(found.group(1), ticket_prefix), found.group(2).upper()
        return ParsedCommand(Command.CHECK, ticket, code) if ticket else None
    if command is Command.REPORT and rest:
        return ParsedCommand(Command.REPORT, rest)
    return None


# "status laporan sy gmn min?", "laporan saya sudah sampai mana", "kok belum ditangani ya",
# "any update on my report?": a question about a filed report, not a new one.
_STATUS_QUESTION = re.compile(
    r"\b(?:(?:status|kabar|perkembangan|progres|progress|update|tindak lanjut)\b.*\blaporan"
    r"|laporan\b.*\b(?:status|kabar|perkembangan|progres|bagaimana|sampai mana|sudah diproses"
    r"|sudah ditangani|kok belum|belum ditangani|belum ada kabar|belum ditindaklanjuti)"
    r"|(?:status|update|news)\b.*\breport|report\b.*\b(?:status|update)"
    r"|^(?:cek|check|status)\s+(?:laporan|report)\b)",
)


def is_status_question(normalized: str) -> bool:
    """A short question about an earlier report (`normalized` by `normalize`)."""
    return len(normalized.split()) <= 12 and bool(_STATUS_QUESTION.search(normalized))


_THANKS = re.compile(
    r"^(?:(?:oke?|ok|sip|siap|baik|nggih|iya|ya)\s+)?(?:terima kasih|makasih|trims|thanks|"
    r"thank you|thx|tq|suwun|matur nuwun|nuwun)\b"
)


def is_thanks(text: str) -> bool:
    """ "makasih min", "oke terima kasih", "matur nuwun": thanks, not a report."""
    words = normalize(text)
    return len(words.split()) <= 6 and bool(_THANKS.match(words))
