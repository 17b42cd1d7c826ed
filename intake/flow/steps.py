"""The step function: one inbound message in; the new state, replies and effects out.

Follow-up buttons are understood in any state, then commands (BATAL, BANTUAN, CEK...), then the
handler of the current step.
"""

from __future__ import annotations

import re
from dataclasses import replace

from intake import campaigns
from intake.choices import match_choice
from intake.commands import Command, ParsedCommand, is_thanks, parse_command
from intake.flow.context import FlowContext
from intake.flow.effects import (
    AddInfo,
    CheckStatus,
    ConversationEnded,
    Effect,
    FileReport,
    Outcome,
    SupportReport,
)
from intake.flow.followups import add_info_done, followup_choice, followup_text
from intake.flow.location import locate, on_choose_kecamatan, on_choose_kelurahan, on_location
from intake.flow.questions import (
    FILE_ANYWAY,
    add_info_prompt,
    answer,
    category_menu,
    category_page,
    confirm_category_choices,
    confirm_choices,
    consent_choices,
    duplicate_choices,
    edit_choices,
    edit_question,
    greeting,
    in_language,
    letters,
    photo_choices,
    privacy_choices,
    say,
    text_for,
    text_of,
)
from intake.flow.slots import advance, current_question, not_understood, start_report
from intake.flow.state import (
    ConversationState,
    Step,
    add_photo,
    expired,
    new_state,
    privacy_cues,
    reset,
    with_category,
    with_description,
    with_kelurahan,
    with_photo,
    with_voice_note,
)
from intake.language import looks_english
from intake.normalize import normalize
from intake.types import Choice, InboundMessage, MessageKind, Reply

MIN_DESCRIPTION_LETTERS = 5
MIN_DESCRIPTION_WORDS = 2  # fewer: the citizen is asked what is wrong with it


def step(state: ConversationState | None, message: InboundMessage, ctx: FlowContext) -> Outcome:
    """Handle one inbound message."""
    replies: list[Reply] = []
    effects: list[Effect] = []
    today = ctx.now.astimezone(ctx.catalog.tz).date()
    recognised = campaigns.recognise(message, ctx.catalog.campaigns, today)
    message = recognised.message
    if state is None:
        state = new_state(ctx.catalog, ctx.now)
        hint = (message.language_hint or "").lower()
        if hint.startswith("en") or (
            message.kind is MessageKind.TEXT and looks_english(message.text)
        ):
            state = replace(state, lang="en")  # Telegram says the phone speaks English, or they do
    elif state.step is Step.ADD_INFO and expired(state, ctx):
        state = reset(state)  # nothing was abandoned: what was sent is with the officers
    elif state.in_report and expired(state, ctx):
        effects.append(ConversationEnded(state.step.value, "expired"))
        state = reset(state)
        replies.append(say(ctx, state, "expired"))
    state = replace(state, updated_at=ctx.now)
    if recognised.campaign is not None:
        state = replace(state, campaign=recognised.campaign)
    if recognised.only_marks and state.in_report:
        # the poster's prefilled text sent again mid-report: the question stands
        question = current_question(state, ctx)
        return Outcome(state, in_language(replies + question, state.lang), effects)

    command = parse_command(message, ctx.catalog.ticket_prefix)
    followup = followup_choice(state, message, ctx)
    if followup is not None:
        outcome = followup
    elif command is not None:
        outcome = _on_command(state, command, ctx)
    else:
        outcome = _on_message(state, message, ctx)
    replies = in_language(replies + outcome.replies, outcome.state.lang)
    return Outcome(outcome.state, replies, effects + outcome.effects)


def report_filed(
    state: ConversationState, ticket: str, agency_id: str, ctx: FlowContext, *, code: str = ""
) -> Outcome:
    """What to tell the citizen once the pipeline has stored the report under `ticket` (and
    its access `code`)."""
    state = replace(state, last_ticket=ticket)
    text = text_for(
        ctx,
        state,
        "filed",
        ticket=ticket,
        code=code,
        verify_days=ctx.catalog.verify_days,
        agency=ctx.catalog.agency_name(agency_id),
    )
    return Outcome(state, [Reply(text, remove_keyboard=True, lang=state.lang)])


# Commands


def _on_command(state: ConversationState, command: ParsedCommand, ctx: FlowContext) -> Outcome:
    match command.command:
        case Command.CANCEL:
            if state.step is Step.ADD_INFO:
                return add_info_done(state, ctx)
            if not state.in_report:
                return Outcome(state, [say(ctx, state, "nothing_to_cancel")])
            ended = ConversationEnded(state.step.value, "cancelled")
            state = reset(state)
            return Outcome(state, [say(ctx, state, "cancelled", remove_keyboard=True)], [ended])
        case Command.HELP:
            return Outcome(state, [say(ctx, state, "help"), *current_question(state, ctx)])
        case Command.CHECK:
            ticket = command.argument or state.last_ticket  # "status laporan sy gmn?"
            if not ticket:
                example = f"{ctx.catalog.ticket_prefix}-00012"
                return Outcome(state, [say(ctx, state, "check_usage", example=example)])
            return Outcome(state, effects=[CheckStatus(ticket, command.code)])
        case Command.LANGUAGE:
            lang = command.argument if command.argument in ("id", "en") else state.lang
            state = replace(state, lang=lang)
            if state.step is Step.IDLE and not state.consented:
                # a first "english": the greeting in English is the next question
                started = start_report(reset(state), ctx)
                return Outcome(started.state, started.replies, started.effects)
            question = current_question(state, ctx)
            if not question:
                question = [_idle_hint(state, ctx)]
            return Outcome(state, [say(ctx, state, "language_set"), *question])
        case Command.RESTART:
            effects: list[Effect] = []
            if state.in_report:
                effects.append(ConversationEnded(state.step.value, "restarted"))
            outcome = start_report(reset(state), ctx)
            return Outcome(outcome.state, outcome.replies, effects + outcome.effects)
        case Command.REPORT:
            effects = []
            if state.in_report and state.step is not Step.CONSENT:
                effects.append(ConversationEnded(state.step.value, "restarted"))
            fresh = reset(state)
            if command.argument:
                fresh = with_description(fresh, command.argument, ctx)
            outcome = start_report(fresh, ctx)
            return Outcome(outcome.state, outcome.replies, effects + outcome.effects)
    return Outcome(state)


# Messages


def _on_message(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    if (
        message.kind is MessageKind.UNSUPPORTED
        and state.step is Step.IDLE
        and message.text in _GREETING_GESTURES
    ):
        # a sticker to say hello: answered like a greeting
        return _on_idle(state, replace(message, kind=MessageKind.TEXT, text=""), ctx)
    if message.kind is MessageKind.UNSUPPORTED:
        fallback = "pesan ini" if state.lang == "id" else "this message"
        reply = say(ctx, state, "unsupported", kind=message.text or fallback)
        return Outcome(state, [reply, *current_question(state, ctx)])
    if message.kind is MessageKind.VOICE and message.media is not None:
        return _on_voice(state, message, ctx)

    if _writes_what_the_voice_note_said(state, message, ctx):
        # Words for a report told by voice note: they become its description (the note stays
        # attached) and the category is guessed from them.
        state = replace(with_description(state, message.text, ctx), suggested=[])
        return advance(state, ctx)
    if message.kind in _KEEPS_AND_ASKS_AGAIN.get(state.step, ()):
        return _absorb_and_ask(state, message, ctx)
    if message.kind is MessageKind.LOCATION and state.step in _ASKS_WHERE:
        return on_location(state, message, ctx)
    handler = _HANDLERS[state.step]
    return handler(state, message, ctx)


def _on_idle(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    followup = followup_text(state, message, ctx)
    if followup is not None:
        return followup
    if message.kind is MessageKind.TEXT and is_thanks(message.text):
        return Outcome(state, [say(ctx, state, "welcome")])
    if message.kind is MessageKind.TEXT and _looks_like_complaint(message.text):
        return start_report(with_description(reset(state), message.text, ctx), ctx)
    if message.kind in (MessageKind.PHOTO, MessageKind.LOCATION):
        return _absorb(start_report(reset(state), ctx).state, message, ctx)
    if state.last_ticket is None and not state.consented:
        # A first contact that is a greeting ("halo"): introduce ourselves.
        return start_report(reset(state), ctx)
    return Outcome(state, [_idle_hint(state, ctx)])


def _idle_hint(state: ConversationState, ctx: FlowContext) -> Reply:
    new_report = Choice("cmd:report", text_for(ctx, state, "new_report"))
    # Without buttons the text says "type LAPOR"; a numbered "1" would read as a rating.
    choices = (new_report,) if ctx.capabilities.buttons else ()
    return say(ctx, state, "idle", choices=choices)


def _held_reply(state: ConversationState, ctx: FlowContext) -> Reply:
    """Something sent before consent was kept: say so briefly, with the consent buttons."""
    return say(ctx, state, "held_before_consent", choices=consent_choices(state, ctx))


def _on_voice(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    """A voice note is attached to the report; with no words yet it stands as the description
    (officers listen to it), so a citizen who cannot type can still report."""
    if state.step is Step.ADD_INFO and state.adding_to:  # attached to the filed report
        return Outcome(state, effects=[AddInfo(state.adding_to, "", message.media)])
    if not state.in_report:
        started = start_report(reset(state), ctx)
        state = with_voice_note(started.state, message)
        if state.step is Step.CONSENT:  # the notice first; the note is kept as the words
            state = with_description(state, text_for(ctx, state, "voice_description"), ctx)
            return Outcome(state, started.replies)
    else:
        state = with_voice_note(state, message)
    if state.step is Step.CONSENT:
        if not state.draft.description:
            state = with_description(state, text_for(ctx, state, "voice_description"), ctx)
        return Outcome(state, [_held_reply(state, ctx)])
    if not state.draft.description:
        described = replace(
            with_description(state, text_for(ctx, state, "voice_description"), ctx),
            partial_description="",
        )
        outcome = advance(described, ctx)
        confirm = say(ctx, state, "voice_as_description")
        return Outcome(outcome.state, [confirm, *outcome.replies], outcome.effects)
    received = say(ctx, state, "voice_received")
    if state.step is Step.CONFIRM:  # the summary is the question: shown again, up to date
        outcome = advance(replace(state, duplicates_checked=True), ctx)
        return Outcome(outcome.state, [received, *outcome.replies])
    return Outcome(state, [received, *current_question(state, ctx)])


def _writes_what_the_voice_note_said(
    state: ConversationState, message: InboundMessage, ctx: FlowContext
) -> bool:
    return (
        message.kind is MessageKind.TEXT
        and state.step in (Step.CONFIRM_CATEGORY, Step.CHOOSE_CATEGORY)
        and bool(state.draft.voice_notes)
        and state.draft.description == text_for(ctx, state, "voice_description")
        and _looks_like_complaint(message.text)
        and not _PLACE_WORDS.match(normalize(message.text))
    )


def _place_at_category_question(
    state: ConversationState, message: InboundMessage, ctx: FlowContext
) -> Outcome | None:
    """A place typed while the category is asked: kept as the location, the category asked
    again (its words must not pick a category silently)."""
    text = text_of(message).strip()
    if message.kind is not MessageKind.TEXT or state.draft.place is not None:
        return None
    if not _PLACE_WORDS.match(normalize(text)):
        return None
    found = ctx.catalog.gazetteer.best(text)
    if found is None:
        return None
    state = with_kelurahan(state, found, text)
    place = state.draft.place
    assert place is not None
    said = say(ctx, state, "location_found", kelurahan=place.kelurahan, kecamatan=place.kecamatan)
    return Outcome(state, [said, *current_question(state, ctx)])


# Unsupported messages that say hello rather than carry a report (the channels name the kind).
_GREETING_GESTURES = frozenset({"sticker", "animation", "dice"})

# How a typed place starts ("di jalan...", "dpn pasar", "kel. kartoharjo", "rt 3").
_PLACE_WORDS = re.compile(
    r"^(?:(?:di|lokasi|lokasinya|tempatnya|letaknya|alamat|alamatnya) (?:jalan|gang) \w+|"
    r"(?:di |lokasinya |alamatnya )?(?:depan|dekat|samping|sebelah|belakang|seberang|"
    r"kelurahan|kecamatan|rt|rw|perumahan|perum|desa|kampung)\b|near\b|in front of\b|next to\b)"
)


def _absorb(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    """Accept a photo or a location that arrived ahead of its question."""
    if message.kind is MessageKind.PHOTO and message.media is not None:
        state = with_photo(state, message, ctx)
    elif message.kind is MessageKind.LOCATION and message.location is not None:
        located = locate(state, message, ctx)
        if isinstance(located, Outcome):
            return located
        state = located
    return advance(state, ctx)


def _on_consent(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    if message.kind in (MessageKind.PHOTO, MessageKind.LOCATION):
        # Keep what was sent; it is used only if the citizen agrees. The notice was just
        # shown: a short word and the consent buttons, not the whole notice again.
        held = _hold(state, message, ctx)
        if held.draft == state.draft:
            if message.location is not None and not ctx.catalog.gazetteer.contains(
                message.location
            ):  # outside the city: where to report instead, and the consent buttons
                outside = say(
                    ctx,
                    state,
                    "location_outside",
                    city=ctx.catalog.city_name,
                    choices=consent_choices(state, ctx),
                )
                return Outcome(state, [outside])
            return Outcome(state, [greeting(state, ctx)])
        same_album = bool(message.media_group) and message.media_group == state.last_album
        if same_album:
            return Outcome(held)
        return Outcome(held, [_held_reply(held, ctx)])
    choice = answer(message, consent_choices(state, ctx))
    if choice is None:
        if message.kind is MessageKind.TEXT and _looks_like_complaint(message.text):
            words = message.text.strip()
            if state.draft.description:
                words = f"{state.draft.description}\n{words}"
            held = with_description(state, words, ctx)
            if looks_english(message.text) and state.lang != "en":
                held = replace(held, lang="en")  # the notice again, in their language
                return Outcome(held, [greeting(held, ctx)])
            return Outcome(held, [_held_reply(held, ctx)])
        if message.kind is MessageKind.TEXT and looks_english(message.text) and state.lang != "en":
            state = replace(state, lang="en")
            return Outcome(state, [greeting(state, ctx)])
        # "halo", a sticker: the notice was just shown; a short hint with its buttons
        return Outcome(
            state, [say(ctx, state, "consent_hint", choices=consent_choices(state, ctx))]
        )
    if choice.value.startswith("lang:"):  # typed "3" where there are no buttons: not consent
        return _on_command(state, ParsedCommand(Command.LANGUAGE, choice.value[5:]), ctx)
    if choice.value == "disagree":
        state = replace(reset(state), consented=False)
        return Outcome(state, [say(ctx, state, "consent_declined", remove_keyboard=True)])
    outcome = advance(replace(state, consented=True), ctx)
    if state.draft.description == text_for(ctx, state, "voice_description"):
        confirm = say(ctx, state, "voice_as_description")  # told by voice note, before consent
        return Outcome(outcome.state, [confirm, *outcome.replies], outcome.effects)
    return outcome


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
            return Outcome(outcome.state, [say(ctx, state, key)])
        return outcome
    text = text_of(message)
    if state.partial_description:
        text = f"{state.partial_description} {text.strip()}"
    if letters(text) < MIN_DESCRIPTION_LETTERS:
        return Outcome(state, [say(ctx, state, "description_too_short")])
    if len(normalize(text).split()) < MIN_DESCRIPTION_WORDS:
        # "jalan": a topic, not yet a problem; keep it and ask what is wrong with it
        state = replace(state, partial_description=text.strip())
        return Outcome(state, [say(ctx, state, "description_more", words=text.strip())])
    state = replace(with_description(state, text, ctx), partial_description="")
    replies = []
    if len(text.strip()) > ctx.catalog.max_description_chars:
        replies.append(
            say(ctx, state, "description_truncated", limit=ctx.catalog.max_description_chars)
        )
    outcome = advance(state, ctx)
    return Outcome(outcome.state, replies + outcome.replies, outcome.effects)


def _on_confirm_category(
    state: ConversationState, message: InboundMessage, ctx: FlowContext
) -> Outcome:
    choices = confirm_category_choices(state, ctx)
    choice = answer(message, choices)
    if choice is None:
        placed = _place_at_category_question(state, message, ctx)
        if placed is not None:
            return placed
        # A typed category name or a clearer description also answers the question.
        picked = _category_from_text(text_of(message), ctx)
        if picked:
            return advance(with_category(state, picked), ctx)
        return not_understood(state, ctx)
    if choice.value == "yes" and state.suggested:
        return advance(with_category(state, state.suggested[0]), ctx)
    state = replace(state, step=Step.CHOOSE_CATEGORY, page=0)
    return Outcome(state, [category_menu(state, ctx)])


def _on_choose_category(
    state: ConversationState, message: InboundMessage, ctx: FlowContext
) -> Outcome:
    page_choices = category_page(state, ctx)
    choice = answer(message, page_choices)
    if choice is None and message.kind is MessageKind.CHOICE and message.choice:
        value = message.choice
        if value.startswith("cat:") and ctx.catalog.category(value[4:]):
            choice = Choice(value, value)  # a button from an earlier page of the same menu
    if choice is None:
        placed = _place_at_category_question(state, message, ctx)
        if placed is not None:
            return placed
        picked = _category_from_text(text_of(message), ctx)
        if picked:
            return advance(with_category(state, picked), ctx)
        return not_understood(state, ctx)
    if choice.value == "more":
        state = replace(state, page=state.page + 1)
        return Outcome(state, [category_menu(state, ctx)])
    return advance(with_category(state, choice.value.removeprefix("cat:")), ctx)


def _on_photos(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    if message.kind is MessageKind.PHOTO and message.media is not None:
        if len(state.draft.photos) >= ctx.catalog.max_photos:
            state = replace(state, photos_done=True)
            limit = say(ctx, state, "photos_limit", limit=ctx.catalog.max_photos)
            outcome = advance(state, ctx)
            return Outcome(outcome.state, [limit, *outcome.replies], outcome.effects)
        same_album = bool(message.media_group) and message.media_group == state.last_album
        state = add_photo(state, message)
        if same_album:
            return Outcome(state)  # one acknowledgement per album
        return Outcome(state, [_photo_received(state, message, ctx)])
    if state.draft.photos and not state.privacy_chosen:
        # The acknowledgement offered the privacy choices: one answer, two slots.
        privacy = answer(message, privacy_choices(state, ctx))
        if privacy is not None:
            state = replace(state, photos_done=True)
            return _on_privacy(replace(state, step=Step.PRIVACY), message, ctx)
    choice = answer(message, photo_choices(state, ctx))
    if choice is None:
        return not_understood(state, ctx)
    return advance(replace(state, photos_done=True), ctx)


def _photo_received(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Reply:
    """One word per photo (an album: one, without a count that the rest would outdate)."""
    if not state.privacy_chosen:
        return say(ctx, state, "photo_received_privacy", choices=privacy_choices(state, ctx))
    choices = photo_choices(state, ctx)[:1]
    if message.media_group:
        return say(ctx, state, "album_received", choices=choices)
    return say(ctx, state, "photo_received", count=len(state.draft.photos), choices=choices)


def _on_privacy(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    choice = answer(message, privacy_choices(state, ctx))
    if choice is None:
        anonymous, confidential = privacy_cues(text_of(message))
        if not (anonymous or confidential):
            return not_understood(state, ctx)
    else:
        anonymous = choice.value in ("priv:anonymous", "priv:both")
        confidential = choice.value in ("priv:confidential", "priv:both")
    draft = replace(state.draft, anonymous=anonymous, confidential=confidential)
    return advance(replace(state, draft=draft, privacy_chosen=True), ctx)


def _on_confirm(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    choice = answer(message, confirm_choices(state, ctx))
    if choice is None:
        privacy = answer(message, privacy_choices(state, ctx))
        if privacy is not None or any(privacy_cues(text_of(message))):
            # "anonim": the privacy line of the summary changes; the summary comes again
            return _on_privacy(replace(state, step=Step.PRIVACY), message, ctx)
        return not_understood(state, ctx)
    if choice.value == "send":
        draft = state.draft
        filed = replace(reset(state), step=Step.IDLE)
        return Outcome(filed, effects=[FileReport(draft, state.campaign)])
    if choice.value == "cancel":
        ended = ConversationEnded(state.step.value, "cancelled")
        state = reset(state)
        return Outcome(state, [say(ctx, state, "cancelled", remove_keyboard=True)], [ended])
    state = replace(state, step=Step.EDIT)
    return Outcome(state, [edit_question(state, ctx)])


def _on_edit(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    choice = answer(message, edit_choices(state, ctx))
    if choice is None:
        return not_understood(state, ctx)
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
            state = replace(state, privacy_chosen=False, told_upfront=False)
        case _:  # back to the summary
            pass
    return advance(state, ctx)


def _on_duplicate(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    choices = duplicate_choices(state, ctx)
    choice = answer(message, choices)
    if choice is None and message.kind is not MessageKind.CHOICE:
        words = normalize(message.text)
        if words.startswith(("dukung", "support")):
            choice = choices[0]
        elif words.startswith(("tetap", "kirim", "file", "baru", "laporan baru")):
            choice = choices[1]
    if choice is None:
        confirm = answer(message, confirm_choices(state, ctx))
        if confirm is not None and confirm.value != "send":  # "edit" or "cancel" the draft
            return _on_confirm(replace(state, step=Step.CONFIRM), message, ctx)
        choice = choices[1] if confirm is not None else None
    if choice is None:
        return not_understood(state, ctx)
    ticket = state.duplicate_of
    if choice.value == FILE_ANYWAY or ticket is None:
        return Outcome(reset(state), effects=[FileReport(state.draft, state.campaign)])
    ended = ConversationEnded(state.step.value, "supported")
    return Outcome(reset(state), effects=[ended, SupportReport(ticket)])


def _on_add_info(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    ticket = state.adding_to
    if ticket is None:
        return _on_idle(reset(state), message, ctx)
    if message.kind is MessageKind.PHOTO and message.media is not None:
        same_album = bool(message.media_group) and message.media_group == state.last_album
        state = replace(state, last_album=message.media_group)
        info = AddInfo(ticket, message.text.strip(), message.media, acknowledge=not same_album)
        return Outcome(state, effects=[info])
    if message.kind is MessageKind.LOCATION and message.location is not None:
        point = message.location
        where = f"{message.text.strip()} ({point.lat:.6f}, {point.lon:.6f})".strip()
        return Outcome(state, effects=[AddInfo(ticket, f"📍 {where}")])
    if answer(message, [Choice("done", text_for(ctx, state, "done"))]) is not None:
        return add_info_done(state, ctx)
    text = text_of(message).strip()
    if message.kind is MessageKind.CHOICE or letters(text) < 2:
        return Outcome(state, [add_info_prompt(state, ctx)])
    return Outcome(state, effects=[AddInfo(ticket, text[: ctx.catalog.max_description_chars])])


def _absorb_and_ask(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    """A photo or location sent while another question is open: keep it, ask again."""
    if message.kind is MessageKind.PHOTO and message.media is not None:
        if len(state.draft.photos) >= ctx.catalog.max_photos:
            return Outcome(state, [say(ctx, state, "photos_limit", limit=ctx.catalog.max_photos)])
        same_album = bool(message.media_group) and message.media_group == state.last_album
        state = add_photo(state, message)
        if same_album:
            return Outcome(state)
        ack = say(ctx, state, "photo_received", count=len(state.draft.photos))
        return Outcome(
            state, [replace(ack, text=ack.text.split(".")[0] + "."), *current_question(state, ctx)]
        )
    if message.kind is MessageKind.LOCATION and message.location is not None:
        located = locate(state, message, ctx)
        if isinstance(located, Outcome):
            return Outcome(located.state, located.replies + current_question(located.state, ctx))
        place = located.draft.place
        assert place is not None
        found = say(
            ctx, located, "location_found", kelurahan=place.kelurahan, kecamatan=place.kecamatan
        )
        return Outcome(located, [found, *current_question(located, ctx)])
    return Outcome(state, current_question(state, ctx))


def _hold(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> ConversationState:
    if message.kind is MessageKind.PHOTO and message.media is not None:
        return with_photo(state, message, ctx)
    if message.location is not None and ctx.catalog.gazetteer.contains(message.location):
        located = locate(state, message, ctx)
        if not isinstance(located, Outcome):
            return replace(located, step=state.step)
    return state


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


def _looks_like_complaint(text: str) -> bool:
    """Long enough to be a report rather than "halo" or "terima kasih"."""
    return len(text.split()) >= 3 and letters(text) >= 12


# Media sent where the question is about something else. A photo or a location that a step's
# question does not ask for is kept and the question asked again (the one place for this); a
# GPS point answers every question about where. The handlers see only the rest.
_MEDIA = frozenset({MessageKind.PHOTO, MessageKind.LOCATION})
_KEEPS_AND_ASKS_AGAIN: dict[Step, frozenset[MessageKind]] = {
    Step.CONFIRM_CATEGORY: _MEDIA,
    Step.CHOOSE_CATEGORY: _MEDIA,
    Step.PRIVACY: _MEDIA,
    Step.CONFIRM: _MEDIA,
    Step.DUPLICATE: _MEDIA,
    Step.LOCATION: frozenset({MessageKind.PHOTO}),
    Step.CHOOSE_KECAMATAN: frozenset({MessageKind.PHOTO}),
    Step.CHOOSE_KELURAHAN: frozenset({MessageKind.PHOTO}),
    Step.PHOTOS: frozenset({MessageKind.LOCATION}),
}
_ASKS_WHERE = frozenset({Step.LOCATION, Step.CHOOSE_KECAMATAN, Step.CHOOSE_KELURAHAN})


_HANDLERS = {
    Step.IDLE: _on_idle,
    Step.CONSENT: _on_consent,
    Step.DESCRIPTION: _on_description,
    Step.CONFIRM_CATEGORY: _on_confirm_category,
    Step.CHOOSE_CATEGORY: _on_choose_category,
    Step.LOCATION: on_location,
    Step.CHOOSE_KECAMATAN: on_choose_kecamatan,
    Step.CHOOSE_KELURAHAN: on_choose_kelurahan,
    Step.PHOTOS: _on_photos,
    Step.PRIVACY: _on_privacy,
    Step.CONFIRM: _on_confirm,
    Step.EDIT: _on_edit,
    Step.DUPLICATE: _on_duplicate,
    Step.ADD_INFO: _on_add_info,
}
