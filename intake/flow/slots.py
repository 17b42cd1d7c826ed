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
    """Ask for the first slot still missing."""
    draft = state.draft
    if not state.consented:
        state = replace(state, step=Step.CONSENT)
        return Outcome(state, [greeting(state, ctx)])
    if not draft.description:
        state = replace(state, step=Step.DESCRIPTION)
        return Outcome(state, [description_question(state, ctx)])
    if draft.category_id is None:
        return _suggest_category(state, ctx)
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
    effects: list[Effect] = [] if state.duplicates_checked else [FindDuplicates(state.draft)]
    state = replace(state, step=Step.CONFIRM, duplicates_checked=True)
    return Outcome(state, [summary(state, ctx)], effects)


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
    question = current_question(state, ctx)
    if question and question[-1].choices:
        last = question[-1]
        text = text_for(ctx, state, "not_understood") + "\n\n" + last.text
        return Outcome(state, [replace(last, text=text)])
    return Outcome(state, question)
