"""Moving between slots: after every answer the conversation goes to the first slot still
missing (consent, description, category, location, photos, privacy), then to the summary.
"""

from __future__ import annotations

from dataclasses import replace

from intake.flow.context import FlowContext
from intake.flow.effects import Effect, FindDuplicates, Outcome
from intake.flow.questions import (
    add_info_prompt,
    category_menu,
    confirm_category_question,
    description_question,
    duplicate_offer,
    edit_question,
    greeting,
    kecamatan_menu,
    kelurahan_menu,
    location_question,
    photos_question,
    privacy_question,
    summary,
    text_for,
)
from intake.flow.state import ConversationState, Step
from intake.types import Reply


def start_report(state: ConversationState, ctx: FlowContext) -> Outcome:
    state = _begin(state, ctx)
    if not state.consented:
        state = replace(state, step=Step.CONSENT)
        return Outcome(state, [greeting(state, ctx)])
    return advance(state, ctx)


def _begin(state: ConversationState, ctx: FlowContext) -> ConversationState:
    return replace(state, started_at=ctx.now)


def advance(state: ConversationState, ctx: FlowContext) -> Outcome:
    """Ask for the first slot still missing.

    A citizen who told everything before we asked (words, place, photos: "front-loaded") gets
    the summary next: a confident category is taken as understood and privacy stays "Biasa",
    both shown on the summary, which says how to change them.
    """
    draft = state.draft
    if not state.consented:
        state = replace(state, step=Step.CONSENT)
        return Outcome(state, [greeting(state, ctx)])
    if not draft.description:
        state = replace(state, step=Step.DESCRIPTION)
        return Outcome(state, [description_question(state, ctx)])
    front_loaded = state.told_upfront or (
        state.step in _BEFORE_QUESTIONS and _told_everything(state, ctx)
    )
    state = replace(state, told_upfront=front_loaded)
    if draft.photos and not state.photos_done:
        state = replace(state, photos_done=True)  # photos sent before we asked: no question
    if draft.category_id is None:
        if front_loaded:
            candidates = ctx.catalog.suggester.suggest(draft.description, limit=3)
            if candidates and ctx.catalog.suggester.is_confident(candidates):
                draft = replace(draft, category_id=candidates[0].category_id)
                state = replace(state, draft=draft)
        if draft.category_id is None:
            return _suggest_category(state, ctx)
    privacy_defaulted = False
    if front_loaded and not state.privacy_chosen:
        state = replace(state, privacy_chosen=True)
        privacy_defaulted = True
    if draft.place is None:
        state = replace(state, step=Step.LOCATION)
        return Outcome(state, [location_question(state, ctx)])
    if not state.photos_done and ctx.capabilities.photos:
        state = replace(state, step=Step.PHOTOS)
        return Outcome(state, [photos_question(state, ctx)])
    if not state.privacy_chosen:
        state = replace(state, step=Step.PRIVACY)
        return Outcome(state, [privacy_question(state, ctx)])
    # The first time, the pipeline also looks for a similar open report (FindDuplicates).
    shown = summary(state, ctx)
    if privacy_defaulted:
        shown = replace(shown, text=shown.text + "\n" + text_for(ctx, state, "privacy_hint"))
    effects: list[Effect] = (
        [] if state.duplicates_checked else [FindDuplicates(state.draft, summary=shown.text)]
    )
    state = replace(state, step=Step.CONFIRM, duplicates_checked=True)
    return Outcome(state, [shown], effects)


# Steps before the report's own questions: what the citizen said there, they said unasked.
_BEFORE_QUESTIONS = frozenset({Step.IDLE, Step.CONSENT, Step.DESCRIPTION})


def _told_everything(state: ConversationState, ctx: FlowContext) -> bool:
    """Words, place and photos are in, and no question about the report was asked yet
    (after "edit the description" the category is already there: not front-loaded)."""
    draft = state.draft
    if draft.category_id is not None or state.suggested:
        return False
    has_photos = bool(draft.photos) or not ctx.capabilities.photos
    return bool(draft.description) and draft.place is not None and has_photos


def current_question(state: ConversationState, ctx: FlowContext) -> list[Reply]:
    """The question the citizen is expected to answer now (after help, language...)."""
    match state.step:
        case Step.IDLE:
            return []
        case Step.CONFIRM_CATEGORY:
            return [confirm_category_question(state, ctx)]
        case Step.CHOOSE_CATEGORY:
            return [category_menu(state, ctx)]
        case Step.CHOOSE_KECAMATAN:
            return [kecamatan_menu(state, ctx, "location_unknown")]
        case Step.CHOOSE_KELURAHAN:
            return [kelurahan_menu(state, ctx)]
        case Step.EDIT:
            return [edit_question(state, ctx)]
        case Step.DUPLICATE:
            return [duplicate_offer(state, ctx)]
        case Step.ADD_INFO:
            return [add_info_prompt(state, ctx)]
    return advance(state, ctx).replies


def _suggest_category(state: ConversationState, ctx: FlowContext) -> Outcome:
    suggester = ctx.catalog.suggester
    candidates = suggester.suggest(state.draft.description, limit=3)
    suggested = [c.category_id for c in candidates if c.score > 0]
    state = replace(state, suggested=suggested, page=0)
    if candidates and suggester.is_confident(candidates):
        state = replace(state, step=Step.CONFIRM_CATEGORY)
        return Outcome(state, [confirm_category_question(state, ctx)])
    state = replace(state, step=Step.CHOOSE_CATEGORY)
    return Outcome(state, [category_menu(state, ctx)])


def not_understood(state: ConversationState, ctx: FlowContext) -> Outcome:
    """A short hint with the question's choices; a long question (the privacy explanations,
    the summary) is not repeated in full: its buttons or numbers are what is needed."""
    question = current_question(state, ctx)
    if question and question[-1].choices:
        last = question[-1]
        sorry = text_for(ctx, state, "not_understood")
        if len(last.text) <= SHORT_QUESTION:
            text = sorry + "\n\n" + last.text
        else:
            text = sorry + " " + text_for(ctx, state, "choose_hint")
        return Outcome(state, [replace(last, text=text)])
    return Outcome(state, question)


SHORT_QUESTION = 120  # characters: a question this short is said again with the hint
