"""Commands that work in every state of the conversation.

A command is the whole message ("batal", "/help", "english") or a keyword followed by its
argument ("cek MDN-00012", "lapor jalan depan pasar berlubang"). Ordinary sentences that merely
contain such a word are not commands: "lampunya mati, tolong dicek" stays a description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

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
    **{w: (Command.CANCEL, "") for w in ("batal", "cancel", "batalkan", "stop", "berhenti")},
    **{w: (Command.HELP, "") for w in ("bantuan", "help", "menu", "?", "tolong bantu")},
    **{w: (Command.RESTART, "") for w in ("ulang", "mulai", "mulai lagi", "restart", "start")},
    **{w: (Command.LANGUAGE, "en") for w in ("english", "inggris", "bahasa inggris", "en")},
    **{
        w: (Command.LANGUAGE, "id")
        for w in ("indonesia", "bahasa indonesia", "bahasa", "indonesian", "id")
    },
    **{w: (Command.REPORT, "") for w in ("lapor", "report", "laporan baru", "buat laporan")},
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
    whole = normalize(raw)
    if whole in _WHOLE:
        return ParsedCommand(*_WHOLE[whole])
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
