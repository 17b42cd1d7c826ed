"""The citizen's conversation: data plus one pure function.

`step(state, message, context)` returns the new state, what to say, and what should happen
(file a report, look up a ticket). It reads no clock and touches no storage: the pipeline feeds
it and applies its effects, so it behaves the same on every channel and in every test.

A report is a set of slots (consent, description, category, location, photos, privacy). After
every answer the conversation moves to the first slot still missing, so "edit the location"
simply clears that slot and the same rule brings the citizen back to the summary.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from intake.catalog import Catalog
from intake.choices import match_choice
from intake.commands import Command, ParsedCommand, parse_command
from intake.normalize import normalize
from intake.places import PlaceSearch
from intake.tickets import parse_ticket
from intake.types import (
    ChannelCapabilities,
    Choice,
    GeoPoint,
    InboundMessage,
    Kelurahan,
    MediaRef,
    MessageKind,
    PlaceMatch,
    Reply,
    ReportDraft,
)


class Step(StrEnum):
    IDLE = "idle"  # no report in progress
    CONSENT = "consent"
    DESCRIPTION = "description"
    CONFIRM_CATEGORY = "confirm_category"
    CHOOSE_CATEGORY = "choose_category"
    LOCATION = "location"
    CHOOSE_KECAMATAN = "choose_kecamatan"
    CHOOSE_KELURAHAN = "choose_kelurahan"
    PHOTOS = "photos"
    PRIVACY = "privacy"
    CONFIRM = "confirm"
    EDIT = "edit"
    DUPLICATE = "duplicate"  # a similar open report exists: support it or file anyway?
    ADD_INFO = "add_info"  # adding text or photos to a filed report (`adding_to`)


PAGE_SIZE = 8  # choices per page: fits a WhatsApp list (10 rows) with "more" to spare
MIN_DESCRIPTION_LETTERS = 5
CLOSE_PLACE_SCORE = 75  # a typed place this similar to a kelurahan is offered as a choice


@dataclass
class ConversationState:
    step: Step = Step.IDLE
    lang: str = "id"
    consented: bool = False
    draft: ReportDraft = field(default_factory=ReportDraft)
    photos_done: bool = False
    privacy_chosen: bool = False
    suggested: list[str] = field(default_factory=list)  # category ids, best first
    page: int = 0
    kecamatan: str | None = None
    kelurahan_options: list[str] = field(default_factory=list)  # codes offered
    pending_address: str = ""  # what the citizen typed while we narrow down the kelurahan
    pending_point: GeoPoint | None = None
    last_album: str | None = None
    started_at: datetime | None = None
    updated_at: datetime | None = None
    last_ticket: str | None = None
    adding_to: str | None = None  # ADD_INFO: the ticket that receives what the citizen sends
    duplicate_of: str | None = None  # DUPLICATE: the open report offered for support
    duplicate_note: str = ""  # DUPLICATE: how that report was described to the citizen
    duplicates_checked: bool = False  # the draft was compared with open reports

    @property
    def in_report(self) -> bool:
        """A report is being written (adding to a filed one is not writing a report)."""
        return self.step not in (Step.IDLE, Step.ADD_INFO)

    def to_dict(self) -> dict[str, Any]:
        d = self.draft
        return {
            "step": self.step.value,
            "lang": self.lang,
            "consented": self.consented,
            "draft": {
                "description": d.description,
                "category_id": d.category_id,
                "place": _place_to_dict(d.place),
                "photos": [
                    {"channel": p.channel, "ref": p.ref, "mime": p.mime, "size": p.size}
                    for p in d.photos
                ],
                "anonymous": d.anonymous,
                "confidential": d.confidential,
            },
            "photos_done": self.photos_done,
            "privacy_chosen": self.privacy_chosen,
            "suggested": self.suggested,
            "page": self.page,
            "kecamatan": self.kecamatan,
            "kelurahan_options": self.kelurahan_options,
            "pending_address": self.pending_address,
            "pending_point": _point_to_dict(self.pending_point),
            "last_album": self.last_album,
            "started_at": _time_to_str(self.started_at),
            "updated_at": _time_to_str(self.updated_at),
            "last_ticket": self.last_ticket,
            "adding_to": self.adding_to,
            "duplicate_of": self.duplicate_of,
            "duplicate_note": self.duplicate_note,
            "duplicates_checked": self.duplicates_checked,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationState:
        d = data.get("draft") or {}
        draft = ReportDraft(
            description=d.get("description", ""),
            category_id=d.get("category_id"),
            place=_place_from_dict(d.get("place")),
            photos=[
                MediaRef(p["channel"], p["ref"], p.get("mime", ""), p.get("size"))
                for p in d.get("photos", [])
            ],
            anonymous=bool(d.get("anonymous", False)),
            confidential=bool(d.get("confidential", False)),
        )
        try:
            step = Step(data.get("step", "idle"))
        except ValueError:
            step = Step.IDLE
        return cls(
            step=step,
            lang=data.get("lang", "id"),
            consented=bool(data.get("consented", False)),
            draft=draft,
            photos_done=bool(data.get("photos_done", False)),
            privacy_chosen=bool(data.get("privacy_chosen", False)),
            suggested=list(data.get("suggested", [])),
            page=int(data.get("page", 0)),
            kecamatan=data.get("kecamatan"),
            kelurahan_options=list(data.get("kelurahan_options", [])),
            pending_address=data.get("pending_address", ""),
            pending_point=_point_from_dict(data.get("pending_point")),
            last_album=data.get("last_album"),
            started_at=_time_from_str(data.get("started_at")),
            updated_at=_time_from_str(data.get("updated_at")),
            last_ticket=data.get("last_ticket"),
            adding_to=data.get("adding_to"),
            duplicate_of=data.get("duplicate_of"),
            duplicate_note=data.get("duplicate_note", ""),
            # (a state saved before this field existed, at the summary, was past the check)
            duplicates_checked=bool(
                data.get("duplicates_checked", step in (Step.CONFIRM, Step.EDIT))
            ),
        )


@dataclass(frozen=True)
class FlowContext:
    now: datetime
    catalog: Catalog
    capabilities: ChannelCapabilities = ChannelCapabilities()


# Effects: what the pipeline must do after a step.


@dataclass(frozen=True)
class FileReport:
    draft: ReportDraft


@dataclass(frozen=True)
class CheckStatus:
    ticket: str


@dataclass(frozen=True)
class ConversationEnded:
    """For analytics: a report was abandoned at `step` ("cancelled" or "expired")."""

    step: str
    reason: str


@dataclass(frozen=True)
class FindDuplicates:
    """The draft is complete (the summary is on its way): if a similar report is open, the
    handler offers it for support with `duplicate_found`; otherwise nothing happens."""

    draft: ReportDraft


@dataclass(frozen=True)
class RateReport:
    """The citizen rates a resolved report 1-5 (`ticket` None: their latest one awaiting it)."""

    ticket: str | None
    score: int


@dataclass(frozen=True)
class ReopenReport:
    """The citizen says a resolved report is not fixed ("belum beres")."""

    ticket: str | None
    note: str = ""


@dataclass(frozen=True)
class AddInfo:
    """Text or a photo for an open report. Neither: the citizen wants to start adding, so check
    the ticket and answer with `add_info_ready` (or say why not)."""

    ticket: str
    text: str = ""
    photo: MediaRef | None = None
    acknowledge: bool = True  # False for the rest of an album: one answer is enough


@dataclass(frozen=True)
class SupportReport:
    """The citizen supports an open report instead of filing a duplicate of it."""

    ticket: str


Effect = (
    FileReport
    | FindDuplicates
    | CheckStatus
    | ConversationEnded
    | RateReport
    | ReopenReport
    | AddInfo
    | SupportReport
)


@dataclass(frozen=True)
class Outcome:
    state: ConversationState
    replies: list[Reply] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)


def new_state(catalog: Catalog, now: datetime) -> ConversationState:
    return ConversationState(lang=catalog.default_language, updated_at=now)


def step(state: ConversationState | None, message: InboundMessage, ctx: FlowContext) -> Outcome:
    """Handle one inbound message."""
    replies: list[Reply] = []
    effects: list[Effect] = []
    if state is None:
        state = new_state(ctx.catalog, ctx.now)
    elif state.step is Step.ADD_INFO and _expired(state, ctx):
        state = _reset(state)  # nothing was abandoned: what was sent is with the officers
    elif state.in_report and _expired(state, ctx):
        effects.append(ConversationEnded(state.step.value, "expired"))
        state = _reset(state)
        replies.append(_say(ctx, state, "expired"))
    state = replace(state, updated_at=ctx.now)

    command = parse_command(message, ctx.catalog.ticket_prefix)
    followup = _followup_choice(state, message, ctx)
    if followup is not None:
        outcome = followup
    elif command is not None:
        outcome = _on_command(state, command, ctx)
    else:
        outcome = _on_message(state, message, ctx)
    replies = _in_language(replies + outcome.replies, outcome.state.lang)
    return Outcome(outcome.state, replies, effects + outcome.effects)


def report_filed(
    state: ConversationState, ticket: str, agency_id: str, ctx: FlowContext
) -> Outcome:
    """What to tell the citizen once the pipeline has stored the report under `ticket`."""
    state = replace(state, last_ticket=ticket)
    text = _t(
        ctx,
        state,
        "filed",
        ticket=ticket,
        verify_days=ctx.catalog.verify_days,
        agency=ctx.catalog.agency_name(agency_id),
    )
    return Outcome(state, [Reply(text, remove_keyboard=True, lang=state.lang)])


# Commands


def _on_command(state: ConversationState, command: ParsedCommand, ctx: FlowContext) -> Outcome:
    match command.command:
        case Command.CANCEL:
            if state.step is Step.ADD_INFO:
                return _add_info_done(state, ctx)
            if not state.in_report:
                return Outcome(state, [_say(ctx, state, "nothing_to_cancel")])
            ended = ConversationEnded(state.step.value, "cancelled")
            state = _reset(state)
            return Outcome(state, [_say(ctx, state, "cancelled", remove_keyboard=True)], [ended])
        case Command.HELP:
            return Outcome(state, [_say(ctx, state, "help"), *_current_question(state, ctx)])
        case Command.CHECK:
            if not command.argument:
                example = f"{ctx.catalog.ticket_prefix}-00012"
                return Outcome(state, [_say(ctx, state, "check_usage", example=example)])
            return Outcome(state, effects=[CheckStatus(command.argument)])
        case Command.LANGUAGE:
            lang = command.argument if command.argument in ("id", "en") else state.lang
            state = replace(state, lang=lang)
            return Outcome(
                state, [_say(ctx, state, "language_set"), *_current_question(state, ctx)]
            )
        case Command.RESTART:
            effects: list[Effect] = []
            if state.in_report:
                effects.append(ConversationEnded(state.step.value, "restarted"))
            outcome = _start_report(_reset(state), ctx)
            return Outcome(outcome.state, outcome.replies, effects + outcome.effects)
        case Command.REPORT:
            effects = []
            if state.in_report and state.step is not Step.CONSENT:
                effects.append(ConversationEnded(state.step.value, "restarted"))
            fresh = _reset(state)
            if command.argument:
                fresh = replace(fresh, draft=ReportDraft(description=command.argument))
            outcome = _start_report(fresh, ctx)
            return Outcome(outcome.state, outcome.replies, effects + outcome.effects)
    return Outcome(state)


# Messages


def _on_message(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    if message.kind is MessageKind.UNSUPPORTED:
        fallback = "pesan ini" if state.lang == "id" else "this message"
        reply = _say(ctx, state, "unsupported", kind=message.text or fallback)
        return Outcome(state, [reply, *_current_question(state, ctx)])
    if message.kind is MessageKind.VOICE:
        # Many people report by voice note; officers need text, so ask for a typed summary.
        if not state.in_report and state.step is not Step.ADD_INFO:
            started = _start_report(_reset(state), ctx)
            if started.state.step is Step.CONSENT:
                return started
            state = started.state
        reply = _say(ctx, state, "voice_not_supported")
        if state.step is Step.DESCRIPTION:
            return Outcome(state, [reply])
        return Outcome(state, [reply, *_current_question(state, ctx)])

    if state.step in _KEEPS_MEDIA_AND_ASKS_AGAIN and message.kind in (
        MessageKind.PHOTO,
        MessageKind.LOCATION,
    ):
        return _absorb_and_ask(state, message, ctx)
    handler = _HANDLERS[state.step]
    return handler(state, message, ctx)


def _on_idle(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    followup = _followup_text(state, message, ctx)
    if followup is not None:
        return followup
    if message.kind is MessageKind.TEXT and _looks_like_complaint(message.text):
        state = replace(_reset(state), draft=ReportDraft(description=message.text.strip()))
        return _start_report(state, ctx)
    if message.kind in (MessageKind.PHOTO, MessageKind.LOCATION):
        return _absorb(_start_report(_reset(state), ctx).state, message, ctx)
    if state.last_ticket is None and not state.consented:
        # A first contact that is a greeting ("halo"): introduce ourselves.
        return _start_report(_reset(state), ctx)
    new_report = Choice("cmd:report", _t(ctx, state, "new_report"))
    # Without buttons the text says "type LAPOR"; a numbered "1" would read as a rating.
    choices = (new_report,) if ctx.capabilities.buttons else ()
    return Outcome(state, [_say(ctx, state, "idle", choices=choices)])


def _absorb(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    """Accept a photo or a location that arrived ahead of its question."""
    if message.kind is MessageKind.PHOTO and message.media is not None:
        state = _add_photo(state, message)
        if message.text.strip() and not state.draft.description:
            state = _with_description(state, message.text, ctx)
    elif message.kind is MessageKind.LOCATION and message.location is not None:
        located = _locate(state, message, ctx)
        if isinstance(located, Outcome):
            return located
        state = located
    return _advance(state, ctx)


def _on_consent(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    if message.kind in (MessageKind.PHOTO, MessageKind.LOCATION):
        # Keep what was sent; it is used only if the citizen agrees.
        state = _hold(state, message, ctx)
        return Outcome(state, [_greeting(state, ctx)])
    choice = _answer(message, _consent_choices(state, ctx))
    if choice is None:
        if message.kind is MessageKind.TEXT and _looks_like_complaint(message.text):
            state = replace(state, draft=replace(state.draft, description=message.text.strip()))
        return Outcome(state, [_greeting(state, ctx)])
    if choice.value.startswith("lang:"):  # typed "3" where there are no buttons: not consent
        return _on_command(state, ParsedCommand(Command.LANGUAGE, choice.value[5:]), ctx)
    if choice.value == "disagree":
        state = replace(_reset(state), consented=False)
        return Outcome(state, [_say(ctx, state, "consent_declined", remove_keyboard=True)])
    return _advance(replace(state, consented=True), ctx)


def _on_description(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    if message.kind in (MessageKind.PHOTO, MessageKind.LOCATION):
        before = len(state.draft.photos)
        outcome = _absorb(state, message, ctx)
        if outcome.state.step is Step.DESCRIPTION and not outcome.state.draft.description:
            if (
                message.kind is MessageKind.PHOTO
                and message.media_group
                and before
                and (message.media_group == state.last_album)
            ):
                return Outcome(outcome.state)  # the rest of an album: one answer is enough
            key = (
                "photo_before_description"
                if message.kind is MessageKind.PHOTO
                else ("location_before_description")
            )
            return Outcome(outcome.state, [_say(ctx, state, key)])
        return outcome
    text = _text_of(message)
    if _letters(text) < MIN_DESCRIPTION_LETTERS:
        return Outcome(state, [_say(ctx, state, "description_too_short")])
    state = _with_description(state, text, ctx)
    replies = []
    if len(text.strip()) > ctx.catalog.max_description_chars:
        replies.append(
            _say(ctx, state, "description_truncated", limit=ctx.catalog.max_description_chars)
        )
    outcome = _advance(state, ctx)
    return Outcome(outcome.state, replies + outcome.replies, outcome.effects)


def _on_confirm_category(
    state: ConversationState, message: InboundMessage, ctx: FlowContext
) -> Outcome:
    choices = _confirm_category_choices(state, ctx)
    choice = _answer(message, choices)
    if choice is None:
        # A typed category name or a clearer description also answers the question.
        picked = _category_from_text(_text_of(message), ctx)
        if picked:
            return _advance(_with_category(state, picked), ctx)
        return _not_understood(state, ctx)
    if choice.value == "yes" and state.suggested:
        return _advance(_with_category(state, state.suggested[0]), ctx)
    state = replace(state, step=Step.CHOOSE_CATEGORY, page=0)
    return Outcome(state, [_category_menu(state, ctx)])


def _on_choose_category(
    state: ConversationState, message: InboundMessage, ctx: FlowContext
) -> Outcome:
    page_choices = _category_page(state, ctx)
    choice = _answer(message, page_choices)
    if choice is None and message.kind is MessageKind.CHOICE and message.choice:
        value = message.choice
        if value.startswith("cat:") and ctx.catalog.category(value[4:]):
            choice = Choice(value, value)  # a button from an earlier page of the same menu
    if choice is None:
        picked = _category_from_text(_text_of(message), ctx)
        if picked:
            return _advance(_with_category(state, picked), ctx)
        return _not_understood(state, ctx)
    if choice.value == "more":
        state = replace(state, page=state.page + 1)
        return Outcome(state, [_category_menu(state, ctx)])
    return _advance(_with_category(state, choice.value.removeprefix("cat:")), ctx)


def _on_location(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    if message.kind is MessageKind.PHOTO:
        return _absorb_and_ask(state, message, ctx)
    if message.kind is MessageKind.LOCATION:
        located = _locate(state, message, ctx)
        return located if isinstance(located, Outcome) else _advance_with_place(located, ctx)
    text = _text_of(message).strip()
    if _letters(text) < 3:
        return Outcome(state, [_location_question(state, ctx)])
    return _place_from_text(state, text, ctx)


def _on_choose_kecamatan(
    state: ConversationState, message: InboundMessage, ctx: FlowContext
) -> Outcome:
    if message.kind is MessageKind.LOCATION:
        return _on_location(state, message, ctx)
    if message.kind is MessageKind.PHOTO:
        return _absorb_and_ask(state, message, ctx)
    choice = _answer(message, _kecamatan_choices(ctx))
    if choice is None:
        text = _text_of(message).strip()
        found = ctx.catalog.gazetteer.best(text)
        if found:
            return _advance_with_place(_with_kelurahan(state, found, state.pending_address), ctx)
        return _not_understood(state, ctx)
    kecamatan = choice.value.removeprefix("kec:")
    options = [k.code for k in ctx.catalog.gazetteer.in_kecamatan(kecamatan)]
    state = replace(
        state, step=Step.CHOOSE_KELURAHAN, kecamatan=kecamatan, kelurahan_options=options, page=0
    )
    return Outcome(state, [_kelurahan_menu(state, ctx)])


def _on_choose_kelurahan(
    state: ConversationState, message: InboundMessage, ctx: FlowContext
) -> Outcome:
    if message.kind is MessageKind.LOCATION:
        return _on_location(state, message, ctx)
    if message.kind is MessageKind.PHOTO:
        return _absorb_and_ask(state, message, ctx)
    choice = _answer(message, _kelurahan_page(state, ctx))
    if choice is None and message.kind is MessageKind.CHOICE and message.choice:
        code = message.choice.removeprefix("kel:")
        if code in state.kelurahan_options:
            choice = Choice(message.choice, code)
    if choice is None:
        found = ctx.catalog.gazetteer.best(_text_of(message))
        if found:
            return _advance_with_place(_with_kelurahan(state, found, state.pending_address), ctx)
        return _not_understood(state, ctx)
    if choice.value == "more":
        state = replace(state, page=state.page + 1)
        return Outcome(state, [_kelurahan_menu(state, ctx)])
    if choice.value == "none":
        state = replace(state, step=Step.CHOOSE_KECAMATAN, kecamatan=None, kelurahan_options=[])
        return Outcome(state, [_kecamatan_menu(state, ctx, "location_unknown")])
    kelurahan = ctx.catalog.gazetteer.by_code(choice.value.removeprefix("kel:"))
    if kelurahan is None:
        return _not_understood(state, ctx)
    return _advance_with_place(_with_kelurahan(state, kelurahan, state.pending_address), ctx)


def _on_photos(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    if message.kind is MessageKind.PHOTO and message.media is not None:
        if len(state.draft.photos) >= ctx.catalog.max_photos:
            state = replace(state, photos_done=True)
            limit = _say(ctx, state, "photos_limit", limit=ctx.catalog.max_photos)
            outcome = _advance(state, ctx)
            return Outcome(outcome.state, [limit, *outcome.replies], outcome.effects)
        same_album = bool(message.media_group) and message.media_group == state.last_album
        state = _add_photo(state, message)
        if same_album:
            return Outcome(state)  # one acknowledgement per album
        count = len(state.draft.photos)
        return Outcome(
            state,
            [
                _say(
                    ctx,
                    state,
                    "photo_received",
                    count=count,
                    choices=_photo_choices(state, ctx)[:1],
                )
            ],
        )
    if message.kind is MessageKind.LOCATION:
        return _absorb_and_ask(state, message, ctx)
    choice = _answer(message, _photo_choices(state, ctx))
    if choice is None:
        return _not_understood(state, ctx)
    return _advance(replace(state, photos_done=True), ctx)


def _on_privacy(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    choice = _answer(message, _privacy_choices(state, ctx))
    if choice is None:
        text = _text_of(message).lower()
        anonymous, confidential = "anonim" in text or "anonym" in text, "rahasia" in text
        if not (anonymous or confidential):
            return _not_understood(state, ctx)
    else:
        anonymous = choice.value in ("priv:anonymous", "priv:both")
        confidential = choice.value in ("priv:confidential", "priv:both")
    draft = replace(state.draft, anonymous=anonymous, confidential=confidential)
    return _advance(replace(state, draft=draft, privacy_chosen=True), ctx)


def _on_confirm(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    choice = _answer(message, _confirm_choices(state, ctx))
    if choice is None:
        return _not_understood(state, ctx)
    if choice.value == "send":
        draft = state.draft
        filed = replace(_reset(state), step=Step.IDLE)
        return Outcome(filed, effects=[FileReport(draft)])
    if choice.value == "cancel":
        ended = ConversationEnded(state.step.value, "cancelled")
        state = _reset(state)
        return Outcome(state, [_say(ctx, state, "cancelled", remove_keyboard=True)], [ended])
    state = replace(state, step=Step.EDIT)
    return Outcome(state, [_say(ctx, state, "ask_edit", choices=_edit_choices(state, ctx))])


def _on_edit(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    choice = _answer(message, _edit_choices(state, ctx))
    if choice is None:
        return _not_understood(state, ctx)
    draft = state.draft
    match choice.value:
        case "edit:description":
            state = replace(state, draft=replace(draft, description=""))
        case "edit:category":
            state = replace(state, draft=replace(draft, category_id=None), suggested=[])
        case "edit:location":
            state = replace(state, draft=replace(draft, place=None))
        case "edit:photos":
            state = replace(state, draft=replace(draft, photos=[]), photos_done=False)
        case "edit:privacy":
            state = replace(state, privacy_chosen=False)
        case _:  # back to the summary
            pass
    return _advance(state, ctx)


# Following up a filed report: rating, reopening, adding information, duplicates.
#
# Buttons on status notices and on the duplicate offer carry the ticket, so they work in any
# state; typed answers ("5", "belum beres", "tambah MDN-00012") are understood when idle. The
# pipeline's handlers (bot/effects.py) check tickets against storage and answer through
# `followup_reply`, `add_info_ready`, `add_info_refused` and `duplicate_found`.

RATE_PREFIX = "rate:"  # "rate:MDN-00012:5"
REOPEN_PREFIX = "reopen:"  # "reopen:MDN-00012"
ADD_PREFIX = "add:"  # "add:MDN-00012"
SUPPORT_PREFIX = "support:"  # "support:MDN-00012"
FILE_ANYWAY = "file_anyway"

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


def rating_choices(ticket: str, lang: str, catalog: Catalog) -> tuple[Choice, ...]:
    """The answers to "how was it?" after a report is resolved: 1-5 and "not fixed"."""
    scores = tuple(Choice(f"{RATE_PREFIX}{ticket}:{n}", str(n)) for n in range(1, 6))
    return (*scores, Choice(f"{REOPEN_PREFIX}{ticket}", catalog.texts.get("not_fixed", lang)))


def followup_reply(state: ConversationState, ctx: FlowContext, key: str, **values: object) -> Reply:
    """A reply from the follow-up handlers, in the citizen's language and channel variant."""
    return Reply(_t(ctx, state, key, **values), lang=state.lang)


def add_info_ready(state: ConversationState, ticket: str, ctx: FlowContext) -> Outcome:
    """The ticket is open to additions: ask for them."""
    state = replace(
        state, step=Step.ADD_INFO, adding_to=ticket, last_album=None, started_at=ctx.now
    )
    return Outcome(state, [replace(_add_info_prompt(state, ctx), lang=state.lang)])


def add_info_refused(state: ConversationState, ticket: str, key: str, ctx: FlowContext) -> Outcome:
    """The ticket cannot take additions (`key` says why); leave the adding step."""
    if state.step is Step.ADD_INFO:
        state = _reset(state)
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
    note = _t(
        ctx,
        state,
        "duplicate_summary",
        ticket=ticket,
        category=ctx.catalog.category_name(category_id, state.lang),
        kelurahan=kelurahan or "-",
        status=status,
        description=_shorten(description, 160),
    )
    state = replace(
        state,
        step=Step.DUPLICATE,
        duplicates_checked=True,
        duplicate_of=ticket,
        duplicate_note=note,
    )
    return Outcome(state, [replace(_duplicate_offer(state, ctx), lang=state.lang)])


def _followup_choice(
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


def _followup_text(
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
        return Outcome(state, [_say(ctx, state, "add_info_usage", example=example)])
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
    question = _current_question(state, ctx)
    if not question:
        new_report = Choice("cmd:report", _t(ctx, state, "new_report"))
        return Outcome(state, [_say(ctx, state, "idle", choices=(new_report,))])
    return Outcome(state, [_say(ctx, state, "stale_choice"), *question])


def _duplicate_choices(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    ticket = state.duplicate_of or ""
    return [
        Choice(f"{SUPPORT_PREFIX}{ticket}", _t(ctx, state, "support_existing", ticket=ticket)),
        Choice(FILE_ANYWAY, _t(ctx, state, "file_anyway")),
    ]


def _duplicate_offer(state: ConversationState, ctx: FlowContext) -> Reply:
    return _say(
        ctx,
        state,
        "duplicate_offer",
        existing=state.duplicate_note,
        choices=_duplicate_choices(state, ctx),
    )


def _on_duplicate(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    choices = _duplicate_choices(state, ctx)
    choice = _answer(message, choices)
    if choice is None and message.kind is not MessageKind.CHOICE:
        words = normalize(message.text)
        if words.startswith(("dukung", "support")):
            choice = choices[0]
        elif words.startswith(("tetap", "kirim", "file", "baru", "laporan baru")):
            choice = choices[1]
    if choice is None:
        confirm = _answer(message, _confirm_choices(state, ctx))
        if confirm is not None and confirm.value != "send":  # "edit" or "cancel" the draft
            return _on_confirm(replace(state, step=Step.CONFIRM), message, ctx)
        choice = choices[1] if confirm is not None else None
    if choice is None:
        return _not_understood(state, ctx)
    ticket = state.duplicate_of
    if choice.value == FILE_ANYWAY or ticket is None:
        return Outcome(_reset(state), effects=[FileReport(state.draft)])
    ended = ConversationEnded(state.step.value, "supported")
    return Outcome(_reset(state), effects=[ended, SupportReport(ticket)])


def _add_info_prompt(state: ConversationState, ctx: FlowContext) -> Reply:
    return _say(
        ctx,
        state,
        "add_info_ask",
        ticket=state.adding_to or "-",
        choices=(Choice("done", _t(ctx, state, "done")),),
    )


def _add_info_done(state: ConversationState, ctx: FlowContext) -> Outcome:
    ticket = state.adding_to or "-"
    state = _reset(state)
    return Outcome(state, [_say(ctx, state, "add_info_done", ticket=ticket, remove_keyboard=True)])


def _on_add_info(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    ticket = state.adding_to
    if ticket is None:
        return _on_idle(_reset(state), message, ctx)
    if message.kind is MessageKind.PHOTO and message.media is not None:
        same_album = bool(message.media_group) and message.media_group == state.last_album
        state = replace(state, last_album=message.media_group)
        info = AddInfo(ticket, message.text.strip(), message.media, acknowledge=not same_album)
        return Outcome(state, effects=[info])
    if message.kind is MessageKind.LOCATION and message.location is not None:
        point = message.location
        where = f"{message.text.strip()} ({point.lat:.6f}, {point.lon:.6f})".strip()
        return Outcome(state, effects=[AddInfo(ticket, f"📍 {where}")])
    if _answer(message, [Choice("done", _t(ctx, state, "done"))]) is not None:
        return _add_info_done(state, ctx)
    text = _text_of(message).strip()
    if message.kind is MessageKind.CHOICE or _letters(text) < 2:
        return Outcome(state, [_add_info_prompt(state, ctx)])
    return Outcome(state, effects=[AddInfo(ticket, text[: ctx.catalog.max_description_chars])])


# Steps whose question is not about media: a photo or location sent there is kept and the
# question asked again. The other steps handle photos and locations themselves.
_KEEPS_MEDIA_AND_ASKS_AGAIN = frozenset(
    {Step.CONFIRM_CATEGORY, Step.CHOOSE_CATEGORY, Step.PRIVACY, Step.CONFIRM, Step.DUPLICATE}
)

_HANDLERS = {
    Step.IDLE: _on_idle,
    Step.CONSENT: _on_consent,
    Step.DESCRIPTION: _on_description,
    Step.CONFIRM_CATEGORY: _on_confirm_category,
    Step.CHOOSE_CATEGORY: _on_choose_category,
    Step.LOCATION: _on_location,
    Step.CHOOSE_KECAMATAN: _on_choose_kecamatan,
    Step.CHOOSE_KELURAHAN: _on_choose_kelurahan,
    Step.PHOTOS: _on_photos,
    Step.PRIVACY: _on_privacy,
    Step.CONFIRM: _on_confirm,
    Step.EDIT: _on_edit,
    Step.DUPLICATE: _on_duplicate,
    Step.ADD_INFO: _on_add_info,
}


# Moving between slots


def _start_report(state: ConversationState, ctx: FlowContext) -> Outcome:
    state = _begin(state, ctx)
    if not state.consented:
        state = replace(state, step=Step.CONSENT)
        return Outcome(state, [_greeting(state, ctx)])
    return _advance(state, ctx)


def _begin(state: ConversationState, ctx: FlowContext) -> ConversationState:
    return replace(state, started_at=ctx.now)


def _advance(state: ConversationState, ctx: FlowContext) -> Outcome:
    """Ask for the first slot still missing."""
    draft = state.draft
    if not state.consented:
        state = replace(state, step=Step.CONSENT)
        return Outcome(state, [_greeting(state, ctx)])
    if not draft.description:
        state = replace(state, step=Step.DESCRIPTION)
        return Outcome(state, [_say(ctx, state, "ask_description", remove_keyboard=True)])
    if draft.category_id is None:
        return _suggest_category(state, ctx)
    if draft.place is None:
        state = replace(state, step=Step.LOCATION)
        return Outcome(state, [_location_question(state, ctx)])
    if not state.photos_done and ctx.capabilities.photos:
        state = replace(state, step=Step.PHOTOS)
        return Outcome(
            state,
            [
                _say(
                    ctx,
                    state,
                    "ask_photos",
                    remove_keyboard=True,
                    choices=_photo_choices(state, ctx),
                )
            ],
        )
    if not state.privacy_chosen:
        state = replace(state, step=Step.PRIVACY)
        return Outcome(
            state,
            [
                _say(
                    ctx,
                    state,
                    "ask_privacy",
                    remove_keyboard=True,
                    choices=_privacy_choices(state, ctx),
                )
            ],
        )
    # The first time, the pipeline also looks for a similar open report (FindDuplicates).
    effects: list[Effect] = [] if state.duplicates_checked else [FindDuplicates(state.draft)]
    state = replace(state, step=Step.CONFIRM, duplicates_checked=True)
    return Outcome(state, [_summary(state, ctx)], effects)


def _current_question(state: ConversationState, ctx: FlowContext) -> list[Reply]:
    """The question the citizen is expected to answer now (after help, language...)."""
    match state.step:
        case Step.IDLE:
            return []
        case Step.CONFIRM_CATEGORY:
            return [_confirm_category_question(state, ctx)]
        case Step.CHOOSE_CATEGORY:
            return [_category_menu(state, ctx)]
        case Step.CHOOSE_KECAMATAN:
            return [_kecamatan_menu(state, ctx, "location_unknown")]
        case Step.CHOOSE_KELURAHAN:
            return [_kelurahan_menu(state, ctx)]
        case Step.EDIT:
            return [_say(ctx, state, "ask_edit", choices=_edit_choices(state, ctx))]
        case Step.DUPLICATE:
            return [_duplicate_offer(state, ctx)]
        case Step.ADD_INFO:
            return [_add_info_prompt(state, ctx)]
    return _advance(state, ctx).replies


def _suggest_category(state: ConversationState, ctx: FlowContext) -> Outcome:
    suggester = ctx.catalog.suggester
    candidates = suggester.suggest(state.draft.description, limit=3)
    suggested = [c.category_id for c in candidates if c.score > 0]
    state = replace(state, suggested=suggested, page=0)
    if candidates and suggester.is_confident(candidates):
        state = replace(state, step=Step.CONFIRM_CATEGORY)
        return Outcome(state, [_confirm_category_question(state, ctx)])
    state = replace(state, step=Step.CHOOSE_CATEGORY)
    return Outcome(state, [_category_menu(state, ctx)])


def _category_from_text(text: str, ctx: FlowContext) -> str | None:
    if not text.strip():
        return None
    named = match_choice(text, [Choice(c.id, c.name) for c in ctx.catalog.categories]) or (
        match_choice(text, [Choice(c.id, c.name_en) for c in ctx.catalog.categories])
    )
    if named:
        return named.value
    candidates = ctx.catalog.suggester.suggest(text, limit=3)
    if candidates and ctx.catalog.suggester.is_confident(candidates):
        return candidates[0].category_id
    return None


def _locate(
    state: ConversationState, message: InboundMessage, ctx: FlowContext
) -> ConversationState | Outcome:
    """A GPS point: inside the city it sets the place; outside, the citizen is told why not."""
    point = message.location
    assert point is not None
    gazetteer = ctx.catalog.gazetteer
    if not gazetteer.contains(point):
        state = replace(state, step=Step.LOCATION) if state.step is Step.LOCATION else state
        reply = _say(
            ctx,
            state,
            "location_outside",
            city=ctx.catalog.city_name,
            request_location=ctx.capabilities.location,
        )
        return Outcome(state, [reply])
    address = message.text.strip()
    kelurahan = gazetteer.locate(point)
    if kelurahan is None:  # inside the city outline but between simplified polygons
        state = replace(
            state, pending_point=point, pending_address=address, step=Step.CHOOSE_KECAMATAN
        )
        return Outcome(state, [_kecamatan_menu(state, ctx, "choose_kelurahan")])
    return _with_kelurahan(state, kelurahan, address, point)


def _place_from_text(state: ConversationState, text: str, ctx: FlowContext) -> Outcome:
    gazetteer = ctx.catalog.gazetteer
    found = gazetteer.best(text)
    if found:
        return _advance_with_place(_with_kelurahan(state, found, text), ctx)
    search: PlaceSearch = gazetteer.search(text)
    state = replace(state, pending_address=text)
    if search.kecamatan:
        options = [k.code for k in gazetteer.in_kecamatan(search.kecamatan)]
        state = replace(
            state,
            step=Step.CHOOSE_KELURAHAN,
            kecamatan=search.kecamatan,
            kelurahan_options=options,
            page=0,
        )
        return Outcome(state, [_kelurahan_menu(state, ctx)])
    close = [k.code for k, score in search.kelurahan if score >= CLOSE_PLACE_SCORE]
    if close:
        state = replace(
            state, step=Step.CHOOSE_KELURAHAN, kecamatan=None, kelurahan_options=close, page=0
        )
        return Outcome(state, [_kelurahan_menu(state, ctx)])
    state = replace(state, step=Step.CHOOSE_KECAMATAN)
    return Outcome(state, [_kecamatan_menu(state, ctx, "location_unknown")])


def _advance_with_place(state: ConversationState, ctx: FlowContext) -> Outcome:
    place = state.draft.place
    assert place is not None
    found = _say(ctx, state, "location_found", kelurahan=place.kelurahan, kecamatan=place.kecamatan)
    outcome = _advance(state, ctx)
    return Outcome(outcome.state, [found, *outcome.replies], outcome.effects)


def _absorb_and_ask(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    """A photo or location sent while another question is open: keep it, ask again."""
    if message.kind is MessageKind.PHOTO and message.media is not None:
        if len(state.draft.photos) >= ctx.catalog.max_photos:
            return Outcome(state, [_say(ctx, state, "photos_limit", limit=ctx.catalog.max_photos)])
        same_album = bool(message.media_group) and message.media_group == state.last_album
        state = _add_photo(state, message)
        if same_album:
            return Outcome(state)
        ack = _say(ctx, state, "photo_received", count=len(state.draft.photos))
        return Outcome(
            state, [replace(ack, text=ack.text.split(".")[0] + "."), *_current_question(state, ctx)]
        )
    if message.kind is MessageKind.LOCATION and message.location is not None:
        located = _locate(state, message, ctx)
        if isinstance(located, Outcome):
            return Outcome(located.state, located.replies + _current_question(located.state, ctx))
        place = located.draft.place
        assert place is not None
        found = _say(
            ctx, located, "location_found", kelurahan=place.kelurahan, kecamatan=place.kecamatan
        )
        return Outcome(located, [found, *_current_question(located, ctx)])
    return Outcome(state, _current_question(state, ctx))


# State helpers


def _reset(state: ConversationState) -> ConversationState:
    """Forget the report in progress; keep who the citizen is to us."""
    return ConversationState(
        step=Step.IDLE,
        lang=state.lang,
        consented=state.consented,
        updated_at=state.updated_at,
        last_ticket=state.last_ticket,
    )


def _hold(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> ConversationState:
    if message.kind is MessageKind.PHOTO and message.media is not None:
        state = _add_photo(state, message)
        if message.text.strip() and not state.draft.description:
            state = _with_description(state, message.text, ctx)
        return state
    if message.location is not None and ctx.catalog.gazetteer.contains(message.location):
        located = _locate(state, message, ctx)
        if not isinstance(located, Outcome):
            return replace(located, step=state.step)
    return state


def _add_photo(state: ConversationState, message: InboundMessage) -> ConversationState:
    assert message.media is not None
    if any(p.ref == message.media.ref for p in state.draft.photos):
        return state
    draft = replace(state.draft, photos=[*state.draft.photos, message.media])
    return replace(state, draft=draft, last_album=message.media_group)


def _with_description(state: ConversationState, text: str, ctx: FlowContext) -> ConversationState:
    description = text.strip()[: ctx.catalog.max_description_chars]
    return replace(state, draft=replace(state.draft, description=description))


def _with_category(state: ConversationState, category_id: str) -> ConversationState:
    return replace(state, draft=replace(state.draft, category_id=category_id))


def _with_kelurahan(
    state: ConversationState,
    kelurahan: Kelurahan,
    address: str,
    point: GeoPoint | None = None,
) -> ConversationState:
    place = PlaceMatch(
        kelurahan=kelurahan.kelurahan,
        kecamatan=kelurahan.kecamatan,
        code=kelurahan.code,
        point=point or state.pending_point,
        address=address,
    )
    return replace(
        state,
        draft=replace(state.draft, place=place),
        pending_address="",
        pending_point=None,
        kecamatan=None,
        kelurahan_options=[],
        page=0,
    )


def _expired(state: ConversationState, ctx: FlowContext) -> bool:
    if state.updated_at is None:
        return False
    return ctx.now - state.updated_at > ctx.catalog.conversation_timeout


# Questions and their choices


def _t(ctx: FlowContext, state: ConversationState, key: str, **values: object) -> str:
    variant = ctx.capabilities.text_variant
    return ctx.catalog.texts.get(key, state.lang, variant=variant, **values)


def _in_language(replies: list[Reply], lang: str) -> list[Reply]:
    """Mark each reply with its language, for channels that add words (SMS choice hints)."""
    return [reply if reply.lang else replace(reply, lang=lang) for reply in replies]


def _say(
    ctx: FlowContext,
    state: ConversationState,
    key: str,
    *,
    choices: Sequence[Choice] = (),
    request_location: bool = False,
    remove_keyboard: bool = False,
    **values: object,
) -> Reply:
    return Reply(
        _t(ctx, state, key, **values),
        choices=tuple(choices),
        request_location=request_location,
        remove_keyboard=remove_keyboard,
    )


def _greeting(state: ConversationState, ctx: FlowContext) -> Reply:
    return _say(
        ctx, state, "greeting", city=ctx.catalog.city_name, choices=_consent_choices(state, ctx)
    )


def _consent_choices(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    other = ("en", "English") if state.lang == "id" else ("id", "Bahasa Indonesia")
    return [
        Choice("agree", _t(ctx, state, "agree")),
        Choice("disagree", _t(ctx, state, "disagree")),
        Choice(f"lang:{other[0]}", other[1]),
    ]


def _confirm_category_question(state: ConversationState, ctx: FlowContext) -> Reply:
    name = ctx.catalog.category_name(state.suggested[0] if state.suggested else None, state.lang)
    return _say(
        ctx, state, "confirm_category", category=name, choices=_confirm_category_choices(state, ctx)
    )


def _confirm_category_choices(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    return [Choice("yes", _t(ctx, state, "yes")), Choice("other", _t(ctx, state, "choose_other"))]


def _category_page(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    order = state.suggested + [c.id for c in ctx.catalog.categories if c.id not in state.suggested]
    choices = [
        Choice(f"cat:{cid}", ctx.catalog.category_name(cid, state.lang))
        for cid in order
        if ctx.catalog.category(cid)
    ]
    return _page(choices, state.page, Choice("more", _t(ctx, state, "more")))


def _category_menu(state: ConversationState, ctx: FlowContext) -> Reply:
    return _say(ctx, state, "choose_category", choices=_category_page(state, ctx))


def _location_question(state: ConversationState, ctx: FlowContext) -> Reply:
    if ctx.capabilities.location:
        return _say(ctx, state, "ask_location", request_location=True)
    return _say(ctx, state, "ask_location_text")


def _kecamatan_choices(ctx: FlowContext) -> list[Choice]:
    return [Choice(f"kec:{name}", name) for name in ctx.catalog.gazetteer.kecamatan_names()]


def _kecamatan_menu(state: ConversationState, ctx: FlowContext, key: str) -> Reply:
    return _say(
        ctx, state, key, choices=_kecamatan_choices(ctx), request_location=ctx.capabilities.location
    )


def _kelurahan_page(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    gazetteer = ctx.catalog.gazetteer
    choices = []
    for code in state.kelurahan_options:
        kelurahan = gazetteer.by_code(code)
        if kelurahan:
            choices.append(Choice(f"kel:{code}", kelurahan.kelurahan, kelurahan.kecamatan))
    page = _page(choices, state.page, Choice("more", _t(ctx, state, "more")))
    return [*page, Choice("none", _t(ctx, state, "none_of_these"))]


def _kelurahan_menu(state: ConversationState, ctx: FlowContext) -> Reply:
    return _say(ctx, state, "choose_kelurahan", choices=_kelurahan_page(state, ctx))


def _photo_choices(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    if state.draft.photos:
        return [Choice("done", _t(ctx, state, "done"))]
    return [Choice("skip", _t(ctx, state, "skip"))]


def _privacy_choices(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    return [
        Choice("priv:normal", _t(ctx, state, "privacy_normal")),
        Choice("priv:anonymous", _t(ctx, state, "privacy_anonymous")),
        Choice("priv:confidential", _t(ctx, state, "privacy_confidential")),
        Choice("priv:both", _t(ctx, state, "privacy_both")),
    ]


def _confirm_choices(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    return [
        Choice("send", _t(ctx, state, "send")),
        Choice("edit", _t(ctx, state, "edit")),
        Choice("cancel", _t(ctx, state, "cancel")),
    ]


def _edit_choices(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    fields = ["description", "category", "location", "photos", "privacy"]
    if not ctx.capabilities.photos:
        fields.remove("photos")
    return [Choice(f"edit:{f}", _t(ctx, state, f"field_{f}")) for f in fields]


def _summary(state: ConversationState, ctx: FlowContext) -> Reply:
    draft = state.draft
    place = draft.place
    location = area = "-"
    if place:
        area = f"Kel. {place.kelurahan}, Kec. {place.kecamatan}"
        parts = [place.address] if place.address else []
        parts.append(area)
        location = " - ".join(parts)
    privacy_key = {
        (False, False): "privacy_normal",
        (True, False): "privacy_anonymous",
        (False, True): "privacy_confidential",
        (True, True): "privacy_both",
    }[(draft.anonymous, draft.confidential)]
    photos = str(len(draft.photos)) if draft.photos else _t(ctx, state, "no_photos")
    text = _t(
        ctx,
        state,
        "summary",
        description=_shorten(draft.description, 300),
        category=ctx.catalog.category_name(draft.category_id, state.lang),
        location=location,
        area=area,  # without the typed address (the SMS form)
        photos=photos,
        privacy=_t(ctx, state, privacy_key),
    )
    return Reply(text, choices=tuple(_confirm_choices(state, ctx)))


def _not_understood(state: ConversationState, ctx: FlowContext) -> Outcome:
    question = _current_question(state, ctx)
    if question and question[-1].choices:
        last = question[-1]
        text = _t(ctx, state, "not_understood") + "\n\n" + last.text
        return Outcome(state, [replace(last, text=text)])
    return Outcome(state, question)


def _answer(message: InboundMessage, choices: Sequence[Choice]) -> Choice | None:
    if message.kind is MessageKind.CHOICE and message.choice is not None:
        return match_choice(message.choice, choices)
    if message.kind in (MessageKind.TEXT, MessageKind.COMMAND):
        return match_choice(message.text, choices)
    return None


def _page(choices: list[Choice], page: int, more: Choice) -> list[Choice]:
    if len(choices) <= PAGE_SIZE + 1:
        return choices
    pages = (len(choices) + PAGE_SIZE - 1) // PAGE_SIZE
    start = (page % pages) * PAGE_SIZE
    return [*choices[start : start + PAGE_SIZE], more]


# Small pure helpers


def _text_of(message: InboundMessage) -> str:
    if message.kind is MessageKind.CHOICE:
        return message.choice or ""
    return message.text


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def _looks_like_complaint(text: str) -> bool:
    """Long enough to be a report rather than "halo" or "terima kasih"."""
    return len(text.split()) >= 3 and _letters(text) >= 12


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _place_to_dict(place: PlaceMatch | None) -> dict[str, Any] | None:
    if place is None:
        return None
    return {
        "kelurahan": place.kelurahan,
        "kecamatan": place.kecamatan,
        "code": place.code,
        "point": _point_to_dict(place.point),
        "address": place.address,
    }


def _place_from_dict(data: dict[str, Any] | None) -> PlaceMatch | None:
    if not data:
        return None
    return PlaceMatch(
        kelurahan=data.get("kelurahan"),
        kecamatan=data.get("kecamatan"),
        code=data.get("code"),
        point=_point_from_dict(data.get("point")),
        address=data.get("address", ""),
    )


def _point_to_dict(point: GeoPoint | None) -> dict[str, float] | None:
    return {"lat": point.lat, "lon": point.lon} if point else None


def _point_from_dict(data: dict[str, float] | None) -> GeoPoint | None:
    return GeoPoint(float(data["lat"]), float(data["lon"])) if data else None


def _time_to_str(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _time_from_str(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


__all__ = [
    "CheckStatus",
    "ConversationEnded",
    "ConversationState",
    "Effect",
    "FileReport",
    "FlowContext",
    "Outcome",
    "Step",
    "report_filed",
    "step",
    "AddInfo",
    "RateReport",
    "ReopenReport",
    "SupportReport",
    "add_info_ready",
    "add_info_refused",
    "duplicate_found",
    "FindDuplicates",
    "followup_reply",
    "rating_choices",
]
