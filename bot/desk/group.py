"""The officer desk: Telegram group commands and buttons become actions (`bot.actions.officer`).

Officers work in their agency's Telegram group (`agencies[].telegram_chat_id`) or the default
one (`officers.default_chat_id`). Only those groups count, and when `officers.user_ids` is set,
only those users in them; anything else changes nothing (a command is answered with why, a
button press with a polite notice). A group may act on the reports routed to it; the default
group may act on every report.

Commands (with or without @BotName)::

    /status <ticket> <verifikasi|proses|selesai|tolak> [note]
    /verifikasi, /tindak, /selesai <ticket> [note]
    /tolak <ticket> <reason>          /alihkan <ticket> <agency>
    /duplikat <ticket> <original>     /balas <ticket> <message>
    /laporan <ticket>                 /antrian                        /bantuan

Replying to a report's card (or to any message of ours that names one ticket) relays the text to
the citizen. Each group update is deduplicated in the inbox (channel "telegram-desk") in the
same transaction as its action, so a webhook retry or a poll after a restart never acts twice.

Cards are edited in place by `bot.desk.cards.CardEditor` (a worker): an action only marks a card
due (`ReportCard.refresh_due_at`) in its transaction, and the worker renders the current state and
edits the message after the commit, retrying what Telegram asks to retry.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from bot.actions.officer import (
    change_status,
    mark_duplicate,
    reassign,
    reject_for_reason,
    reply_to_citizen,
)
from bot.actions.officer import refusal_text as _refusal_text
from bot.actions.reports import ActionError, Actor, DeskEnv, find_report, is_closed, post_card
from bot.core.ports import Clock, ConversationStore, Spawn
from channels.base import ChannelSender, SendError
from channels.telegram import TelegramEvents, TelegramSender
from intake.cards import MENU_AGENCY, MENU_REJECT, parse_callback, status_name
from intake.catalog import Catalog
from intake.lifecycle import OPEN, SlaPolicy, can_reassign, check_move, parse_status
from intake.tickets import parse_ticket
from intake.types import ChannelCapabilities, Reply, ReportStatus, conversation_key
from storage import Store, UnitOfWork
from storage.models import Report, ReportCard

log = logging.getLogger(__name__)

INBOX_CHANNEL = "telegram-desk"
TELEGRAM = "telegram"
QUEUE_LIMIT = 30
CALLBACK_ANSWER_CHARS = 190  # Telegram allows 200

_COMMAND = re.compile(r"/([A-Za-z_]+)(?:@(\S+))?(?:\s+(.*))?", re.DOTALL)
COMMANDS: dict[str, str] = {
    **dict.fromkeys(("status",), "status"),
    **dict.fromkeys(("verifikasi", "verify"), "verify"),
    **dict.fromkeys(("tindak", "proses", "tindaklanjut"), "act"),
    **dict.fromkeys(("selesai", "resolve"), "resolve"),
    **dict.fromkeys(("tolak", "reject"), "reject"),
    **dict.fromkeys(("alihkan", "reassign"), "reassign"),
    **dict.fromkeys(("duplikat", "duplicate"), "duplicate"),
    **dict.fromkeys(("balas", "reply"), "reply"),
    **dict.fromkeys(("laporan", "report"), "show"),
    **dict.fromkeys(("antrian", "queue"), "queue"),
    **dict.fromkeys(("bantuan", "help", "start"), "help"),
}
_SHORTCUTS = {
    "verify": ReportStatus.VERIFIED,
    "act": ReportStatus.IN_PROGRESS,
    "resolve": ReportStatus.RESOLVED,
    "reject": ReportStatus.REJECTED,
}


class Desk:
    """Officers' group updates (commands, replies to cards, button presses) into actions."""

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        *,
        sla: SlaPolicy,
        officer_ids: Iterable[int | str],
        senders: Mapping[str, ChannelSender],
        capabilities: Mapping[str, ChannelCapabilities],
        conversations: ConversationStore,
        clock: Clock,
        spawn: Spawn,
        wake: Callable[[], None],
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.sla = sla
        self.user_ids = frozenset(str(u) for u in officer_ids)
        self.senders = senders  # live: a sender added later is seen
        self.capabilities = capabilities
        self.conversations = conversations
        self.clock = clock
        self.spawn = spawn
        self._wake = wake  # the outbox dispatcher and the card editor
        self.bot_username: str | None = None

    # -- who may do what -------------------------------------------------------------------

    @property
    def lang(self) -> str:
        return self.catalog.default_language

    def officer_chats(self) -> set[str]:
        chats = {a.telegram_chat_id for a in self.catalog.agencies.values() if a.telegram_chat_id}
        if self.catalog.officers_chat_id:
            chats.add(self.catalog.officers_chat_id)
        return chats

    def user_allowed(self, user_id: str) -> bool:
        return not self.user_ids or user_id in self.user_ids

    def may_act(self, chat_id: str, report: Report) -> bool:
        """A group acts on the reports routed to it; the default group on all of them."""
        return chat_id == self.catalog.officers_chat_id or chat_id == self.catalog.officers_chat(
            report.agency_id
        )

    def _check_group(self, env: DeskEnv, chat_id: str, report: Report) -> None:
        if not self.may_act(chat_id, report):
            agency = self.catalog.agency_name(report.agency_id)
            raise ActionError(
                "refused", env.text("wrong_group", ticket=report.ticket, agency=agency)
            )

    def env(self, now: datetime | None = None) -> DeskEnv:
        return DeskEnv(self.catalog, now or self.clock(), self.capabilities, self.conversations)

    def text(self, key: str, **values: object) -> str:
        return self.catalog.texts.desk(key, self.lang, **values)

    # -- group updates ---------------------------------------------------------------------

    async def handle(self, events: TelegramEvents) -> str:
        """Handle a group message or a group button press; returns what happened."""
        try:
            if events.group_callback is not None:
                return await self._callback(events.group_callback, events.callback_query_id)
            if events.group_message is not None:
                return await self._message(events.group_message)
        except Exception:
            log.exception("officer desk failed on update %s", events.update_id)
            if events.callback_query_id:
                self._answer(events.callback_query_id, self.text("error"))
            return "group: error"
        return "group: ignored"

    async def _message(self, msg: dict[str, Any]) -> str:
        chat_id = str((msg.get("chat") or {}).get("id", ""))
        user = msg.get("from") or {}
        if user.get("is_bot"):
            return "group: ignored (from a bot)"
        text = str(msg.get("text") or msg.get("caption") or "").strip()
        command = self._command(text)
        reply_to = msg.get("reply_to_message")
        replying_to_us = isinstance(reply_to, dict) and bool(
            (reply_to.get("from") or {}).get("is_bot")
        )
        if command is None and not replying_to_us:
            return "group: ignored"
        if command is not None and command[0] not in COMMANDS:
            return "group: ignored"
        officers = chat_id in self.officer_chats()
        if not officers and command is None:
            return "group: not an officers' group"
        now = self.clock()
        external_id = f"m{chat_id}:{msg.get('message_id')}"
        env = self.env(now)
        async with self.store.unit_of_work() as uow:
            if not await self._first_time(uow, external_id, msg, now):
                return "group: duplicate"
            user_id = str(user.get("id", ""))
            if not officers:
                answer, outcome = self.text("chat_not_officers"), "group: not an officers' group"
            elif not self.user_allowed(user_id):
                answer, outcome = self.text("user_not_officer"), "group: not an officer"
            else:
                actor = Actor.officer(user_id, _full_name(user))
                try:
                    if command is None:
                        assert isinstance(reply_to, dict)
                        answer = await self._relay(uow, env, chat_id, actor, msg, reply_to)
                        outcome = "group: reply relayed"
                    else:
                        name, args = command
                        quoted = reply_to if replying_to_us else None
                        answer = await self._run(uow, env, chat_id, actor, name, args, quoted)
                        outcome = f"group: {COMMANDS[command[0]]}"
                except ActionError as exc:
                    answer, outcome = exc.message, f"group: refused ({exc.code})"
            if answer:
                await self._say(uow, chat_id, answer, now)
        self._woke()
        return outcome

    async def _callback(self, query: dict[str, Any], query_id: str | None) -> str:
        message = query.get("message") or {}
        chat_id = str((message.get("chat") or {}).get("id", ""))
        message_id = str(message.get("message_id", ""))
        user = query.get("from") or {}
        user_id = str(user.get("id", ""))
        parsed = parse_callback(str(query.get("data") or ""))
        if parsed is None or not query_id:
            self._answer(query_id, "")
            return "group: ignored callback"
        if chat_id not in self.officer_chats():
            self._answer(query_id, self.text("chat_not_officers"))
            return "group: callback outside an officers' group"
        if not self.user_allowed(user_id):
            self._answer(query_id, self.text("user_not_officer"))
            return "group: callback from a user who is not an officer"
        now = self.clock()
        env = self.env(now)
        actor = Actor.officer(user_id, _full_name(user))
        async with self.store.unit_of_work() as uow:
            if not await self._first_time(uow, f"c{query_id}", query, now):
                return "group: duplicate"
            report: Report | None = None
            try:
                report = await find_report(uow, parsed.ticket, env)
                self._check_group(env, chat_id, report)
                card = await self._card_for(uow, report, chat_id, message_id, now)
                answer = await self._press(
                    uow, env, report, card, parsed.action, parsed.argument, actor
                )
                outcome = f"group: {parsed.action}"
            except ActionError as exc:
                answer, outcome = exc.message, f"group: refused ({exc.code})"
                if report is not None and report.id is not None:  # show the card as it is now
                    await uow.desk.refresh_cards(report.id, now, menu=None, chat_id=chat_id)
        self._answer(query_id, answer)
        self._woke()
        return outcome

    async def _first_time(
        self, uow: UnitOfWork, external_id: str, raw: dict[str, Any], now: datetime
    ) -> bool:
        inbox_id = await uow.inbox.add(INBOX_CHANNEL, external_id, {"update": raw}, now)
        if inbox_id is None:
            return False
        await uow.inbox.mark_processed(inbox_id, now)
        return True

    async def _card_for(
        self, uow: UnitOfWork, report: Report, chat_id: str, message_id: str, now: datetime
    ) -> ReportCard:
        assert report.id is not None
        card = await uow.desk.card_at(chat_id, message_id) if message_id else None
        if card is None or card.report_id != report.id:
            return await uow.desk.add_card(
                report.id, chat_id, now, outbox_id=None, message_id=message_id
            )
        if card.message_id is None and card.id is not None:
            await uow.desk.set_card(card.id, now, message_id=message_id)
            card.message_id = message_id
        return card

    async def _press(
        self,
        uow: UnitOfWork,
        env: DeskEnv,
        report: Report,
        card: ReportCard,
        action: str,
        argument: str,
        actor: Actor,
    ) -> str:
        assert card.id is not None
        if action in ("rj", "al", "bk"):
            menu = {"rj": MENU_REJECT, "al": MENU_AGENCY, "bk": None}[action]
            if action == "rj":
                closed = await is_closed(uow, report)
                refusal = check_move(report.status, ReportStatus.REJECTED, closed=closed, note="-")
                if refusal is not None:
                    raise ActionError(
                        "refused",
                        _refusal_text(
                            env, report, ReportStatus.REJECTED.value, refusal, closed=closed
                        ),
                    )
            if action == "al" and not can_reassign(report.status):
                status = status_name(report.status, env.catalog, env.lang)
                raise ActionError(
                    "refused", env.text("refused_reassign", ticket=report.ticket, status=status)
                )
            await uow.desk.set_card(card.id, env.now, menu=menu, refresh_due_at=env.now)
            return ""
        if action == "mv":
            await change_status(uow, env, report, argument, actor)
            return env.text("moved_short", status=status_name(argument, env.catalog, env.lang))
        if action == "rr":
            await reject_for_reason(uow, env, report, argument, actor)
            return env.text(
                "moved_short", status=status_name(ReportStatus.REJECTED, env.catalog, env.lang)
            )
        if action == "dp":
            return await mark_duplicate(uow, env, report, argument, actor)
        if action == "ag":
            await reassign(uow, env, report, argument, actor)
            name = self.catalog.agency_name(argument)
            return env.text("reassigned_short", agency=name)
        return ""

    # -- commands --------------------------------------------------------------------------

    def _command(self, text: str) -> tuple[str, str] | None:
        match = _COMMAND.fullmatch(text)
        if match is None:
            return None
        name, target, args = match.groups()
        if target and self.bot_username and target.lower() != self.bot_username.lower():
            return None  # addressed to another bot in the group
        return name.lower(), (args or "").strip()

    async def _run(
        self,
        uow: UnitOfWork,
        env: DeskEnv,
        chat_id: str,
        actor: Actor,
        name: str,
        args: str,
        reply_to: dict[str, Any] | None = None,
    ) -> str:
        kind = COMMANDS[name]
        if kind == "help":
            return env.text("usage")
        if kind == "queue":
            return await self._queue(uow, env, chat_id)
        ticket, rest = self._ticket(args)
        if ticket is not None:
            report = await find_report(uow, ticket, env)
        elif reply_to is not None:  # a command sent as a reply to a card: that report
            found = await self._replied_report(uow, env, chat_id, reply_to)
            if found is None:
                return env.text("usage")
            report, rest = found, args
        else:
            return env.text("usage")
        self._check_group(env, chat_id, report)
        if kind == "status":
            target, note = _split_status(rest)
            if target is None:
                raise ActionError("invalid", env.text("refused_unknown_status", value=rest or "-"))
            return await change_status(uow, env, report, target.value, actor, note)
        if kind in _SHORTCUTS:
            return await change_status(uow, env, report, _SHORTCUTS[kind].value, actor, rest)
        if kind == "reassign":
            return await reassign(uow, env, report, rest, actor)
        if kind == "duplicate":
            original, _ = self._ticket(rest)
            if original is None:
                return env.text("usage")
            return await mark_duplicate(uow, env, report, original, actor)
        if kind == "reply":
            await reply_to_citizen(uow, env, report, rest, actor)
            return env.text("replied", ticket=report.ticket)
        if kind == "show":
            await post_card(uow, env, report, chat_id)
            return ""
        return env.text("usage")

    def _ticket(self, text: str) -> tuple[str | None, str]:
        parts = text.split(maxsplit=2)
        prefix = self.catalog.ticket_prefix
        if len(parts) >= 2 and parts[0].lower() == prefix.lower():
            ticket = parse_ticket(f"{parts[0]} {parts[1]}", prefix)
            if ticket:
                return ticket, parts[2] if len(parts) > 2 else ""
        if parts:
            ticket = parse_ticket(parts[0], prefix)
            if ticket:
                return ticket, text.split(maxsplit=1)[1].strip() if len(parts) > 1 else ""
        return None, text

    async def _relay(
        self,
        uow: UnitOfWork,
        env: DeskEnv,
        chat_id: str,
        actor: Actor,
        msg: dict[str, Any],
        reply_to: dict[str, Any],
    ) -> str:
        report = await self._replied_report(uow, env, chat_id, reply_to)
        if report is None:
            return env.text("reply_which")
        self._check_group(env, chat_id, report)
        text = str(msg.get("text") or msg.get("caption") or "").strip()
        if not text:
            return env.text("reply_text_only")
        await reply_to_citizen(uow, env, report, text, actor)
        return env.text("replied", ticket=report.ticket)

    async def _replied_report(
        self, uow: UnitOfWork, env: DeskEnv, chat_id: str, reply_to: dict[str, Any]
    ) -> Report | None:
        """The report a message of ours is about: a card (its text, photos or pin), or any
        message of ours that names exactly one ticket."""
        card = await uow.desk.card_at(chat_id, str(reply_to.get("message_id", "")))
        if card is not None:
            return await uow.reports.get_by_id(card.report_id)
        quoted = str(reply_to.get("text") or reply_to.get("caption") or "")
        pattern = rf"\b{re.escape(self.catalog.ticket_prefix)}-\d+\b"
        tickets = {t.upper() for t in re.findall(pattern, quoted, flags=re.IGNORECASE)}
        if len(tickets) != 1:
            return None
        return await find_report(uow, tickets.pop(), env)

    async def _queue(self, uow: UnitOfWork, env: DeskEnv, chat_id: str) -> str:
        agencies = [a for a in self.catalog.agencies if self.catalog.officers_chat(a) == chat_id]
        default = chat_id == self.catalog.officers_chat_id
        reports = await uow.desk.open_reports(
            [s.value for s in OPEN],
            agencies=agencies,
            include_unassigned=default,
            limit=QUEUE_LIMIT + 1,
        )
        if not reports:
            return env.text("queue_empty")
        lines = [
            env.text(
                "queue_header",
                count=len(reports) if len(reports) <= QUEUE_LIMIT else f"{QUEUE_LIMIT}+",
            )
        ]
        for report in reports[:QUEUE_LIMIT]:
            lines.append(
                env.text(
                    "queue_line",
                    ticket=report.ticket,
                    status=status_name(report.status, env.catalog, env.lang),
                    category=self.catalog.category_name(report.category_id, env.lang),
                    kelurahan=report.kelurahan or "-",
                    days=self.sla.working_days(report.created_at, env.now),
                )
            )
        if len(reports) > QUEUE_LIMIT:
            lines.append(env.text("queue_more", count=len(reports) - QUEUE_LIMIT))
        return "\n".join(lines)

    async def _say(self, uow: UnitOfWork, chat_id: str, text: str, now: datetime) -> None:
        key = conversation_key(TELEGRAM, chat_id)
        reply = Reply(text, lang=self.lang)
        await uow.outbox.add(key, TELEGRAM, chat_id, reply.to_dict(), now, now=now)

    # -- platform calls (after the transaction, in the background) -------------------------

    def _sender(self) -> TelegramSender | None:
        sender = self.senders.get(TELEGRAM)
        return sender if isinstance(sender, TelegramSender) else None

    def _answer(self, query_id: str | None, text: str) -> None:
        sender = self._sender()
        if sender is None or not query_id:
            return

        async def answer() -> None:
            try:
                await sender.answer_callback(query_id, text[:CALLBACK_ANSWER_CHARS] or None)
            except SendError as exc:  # an old button (over 15 minutes): nothing to do
                log.info("answerCallbackQuery failed: %s", exc.reason)

        self.spawn(answer())

    def _woke(self) -> None:
        self._wake()

    async def learn_username(self) -> None:
        """Commands addressed to another bot (/status@OtherBot) are then left alone."""
        sender = self._sender()
        if sender is None:
            return
        with contextlib.suppress(SendError):
            me = await sender.get_me()
            username = me.get("username")
            self.bot_username = str(username) if username else None


def _split_status(text: str) -> tuple[ReportStatus | None, str]:
    words = text.split()
    for n in (3, 2, 1):
        if len(words) >= n:
            status = parse_status(" ".join(words[:n]))
            if status is not None:
                return status, " ".join(words[n:])
    return None, text


def _full_name(user: dict[str, Any]) -> str:
    parts = [str(user.get(k)) for k in ("first_name", "last_name") if user.get(k)]
    return " ".join(parts) or str(user.get("username") or user.get("id") or "?")
