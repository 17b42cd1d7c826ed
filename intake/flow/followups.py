"""Following up a filed report: rating, reopening, adding information, duplicates.

Buttons on status notices and on the duplicate offer carry the ticket, so they work in any
state; typed answers ("5", "belum beres", "tambah MDN-00012") are understood when idle. The
pipeline's handlers (bot/actions/citizen.py) check tickets against storage and answer through
`followup_reply`, `add_info_ready`, `add_info_refused` and `duplicate_found`.
"""

from __future__ import annotations

import re
from dataclasses import replace

from intake.flow.context import FlowContext
from intake.flow.effects import AddInfo, Outcome, RateReport, ReopenReport
from intake.flow.questions import (
    ADD_PREFIX,
    FILE_ANYWAY,
    RATE_PREFIX,
    REOPEN_PREFIX,
    SUPPORT_PREFIX,
    add_info_prompt,
    duplicate_offer,
    followup_reply,
    say,
    shorten,
    text_for,
)
from intake.flow.slots import current_question
from intake.flow.state import ConversationState, Step, reset
from intake.tickets import parse_ticket
from intake.types import Choice, InboundMessage, MessageKind

_RATING = re.compile(
    r"(?:nilai|nilainya|rating|skor|score|bintang)?\s*:?\s*([1-5])\s*(?:/\s*5|dari\s+5)?"
    r"\s*(?:bintang|stars?)?\s*[.!]*",
    re.IGNORECASE,
)
_NOT_FIXED = re.compile(
    r"(?:masih\s+)?(?:belum|blm|belom|tidak|tdk|gak|ga|nggak|not)\s+"
    r"(?:beres|selesai|fixed|diperbaiki|tuntas)\b[\s,.:;!-]*(.*)",
    re.IGNORECASE | re.DOTALL,
)
_ADD = re.compile(
    r"/?(?:tambah(?:kan)?|add)(\s+(?:info|informasi|foto|keterangan|data|photos?|details?))?"
    r"(?:\s+(.*))?",
    re.IGNORECASE | re.DOTALL,
)


def add_info_ready(state: ConversationState, ticket: str, ctx: FlowContext) -> Outcome:
    """The ticket is open to additions: ask for them."""
    state = replace(
        state, step=Step.ADD_INFO, adding_to=ticket, last_album=None, started_at=ctx.now
    )
    return Outcome(state, [replace(add_info_prompt(state, ctx), lang=state.lang)])


def add_info_refused(state: ConversationState, ticket: str, key: str, ctx: FlowContext) -> Outcome:
    """The ticket cannot take additions (`key` says why); leave the adding step."""
    if state.step is Step.ADD_INFO:
        state = reset(state)
    return Outcome(state, [followup_reply(state, ctx, key, ticket=ticket)])


def duplicate_found(
    state: ConversationState,
    ctx: FlowContext,
    *,
    ticket: str,
    category_id: str | None,
    kelurahan: str | None,
    status: str,
    description: str,
) -> Outcome:
    """A similar open report exists: offer to support it, or to send the draft anyway (the
    summary's buttons keep working: "send" files it, "edit" and "cancel" as usual)."""
    note = text_for(
        ctx,
        state,
        "duplicate_summary",
        ticket=ticket,
        category=ctx.catalog.category_name(category_id, state.lang),
        kelurahan=kelurahan or "-",
        status=status,
        description=shorten(description, 160),
    )
    state = replace(
        state,
        step=Step.DUPLICATE,
        duplicates_checked=True,
        duplicate_of=ticket,
        duplicate_note=note,
    )
    return Outcome(state, [replace(duplicate_offer(state, ctx), lang=state.lang)])


def followup_choice(
    state: ConversationState, message: InboundMessage, ctx: FlowContext
) -> Outcome | None:
    """Buttons that follow up a filed report, pressed in any state."""
    if message.kind is not MessageKind.CHOICE or not message.choice:
        return None
    value = message.choice
    if value.startswith(RATE_PREFIX):
        ticket, _, score = value.removeprefix(RATE_PREFIX).rpartition(":")
        if ticket and score in ("1", "2", "3", "4", "5"):
            return Outcome(state, effects=[RateReport(ticket, int(score))])
        return _stale(state, ctx)
    if value.startswith(REOPEN_PREFIX):
        return Outcome(state, effects=[ReopenReport(value.removeprefix(REOPEN_PREFIX))])
    if value.startswith(ADD_PREFIX):
        if state.in_report:
            return _stale(state, ctx)  # finish (or cancel) the report being written first
        return Outcome(state, effects=[AddInfo(value.removeprefix(ADD_PREFIX))])
    if value.startswith(SUPPORT_PREFIX) or value == FILE_ANYWAY:
        return None if state.step is Step.DUPLICATE else _stale(state, ctx)
    return None


def followup_text(
    state: ConversationState, message: InboundMessage, ctx: FlowContext
) -> Outcome | None:
    """Typed follow-ups, understood when no report is being written."""
    if message.kind not in (MessageKind.TEXT, MessageKind.COMMAND):
        return None
    text = message.text.strip()
    rating = _RATING.fullmatch(text)
    if rating:
        return Outcome(state, effects=[RateReport(None, int(rating.group(1)))])
    not_fixed = _NOT_FIXED.fullmatch(text)
    if not_fixed:
        return Outcome(state, effects=[ReopenReport(None, not_fixed.group(1).strip())])
    add = _ADD.fullmatch(text)
    if add is None:
        return None
    keyword, rest = add.group(1), (add.group(2) or "").strip()
    ticket, info = _split_ticket(rest, ctx.catalog.ticket_prefix)
    if rest and ticket is None and not keyword:
        return None  # "tambah parah jalannya": a sentence, not the command
    ticket = ticket or state.last_ticket
    if ticket is None:
        example = f"{ctx.catalog.ticket_prefix}-00012"
        return Outcome(state, [say(ctx, state, "add_info_usage", example=example)])
    if info:
        info = info[: ctx.catalog.max_description_chars]
        return Outcome(state, effects=[AddInfo(ticket, info)])
    return Outcome(state, effects=[AddInfo(ticket)])


def _split_ticket(text: str, prefix: str) -> tuple[str | None, str]:
    """("MDN-00012", "the rest") when `text` starts with a ticket (prefix or "#" required)."""
    parts = text.split(maxsplit=2)
    for n in (2, 1):
        if len(parts) < n:
            continue
        candidate = " ".join(parts[:n])
        if not re.match(rf"#|{re.escape(prefix)}", candidate, re.IGNORECASE):
            continue
        ticket = parse_ticket(candidate, prefix)
        if ticket:
            return ticket, " ".join(parts[n:]).strip()
    return None, text


def _stale(state: ConversationState, ctx: FlowContext) -> Outcome:
    question = current_question(state, ctx)
    if not question:
        new_report = Choice("cmd:report", text_for(ctx, state, "new_report"))
        return Outcome(state, [say(ctx, state, "idle", choices=(new_report,))])
    return Outcome(state, [say(ctx, state, "stale_choice"), *question])


def add_info_done(state: ConversationState, ctx: FlowContext) -> Outcome:
    ticket = state.adding_to or "-"
    state = reset(state)
    return Outcome(state, [say(ctx, state, "add_info_done", ticket=ticket, remove_keyboard=True)])
