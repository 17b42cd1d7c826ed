"""Where the problem is: a GPS point inside the city, a typed place, or the kecamatan and
kelurahan menus that narrow it down.
"""

from __future__ import annotations

from dataclasses import replace

from intake.flow.context import FlowContext
from intake.flow.effects import Outcome
from intake.flow.questions import (
    answer,
    kecamatan_choices,
    kecamatan_menu,
    kelurahan_menu,
    kelurahan_page,
    letters,
    location_question,
    say,
    text_of,
)
from intake.flow.slots import advance, not_understood
from intake.flow.state import ConversationState, Step, with_kelurahan
from intake.places import PlaceSearch
from intake.types import Choice, InboundMessage, MessageKind

CLOSE_PLACE_SCORE = 75  # a typed place this similar to a kelurahan is offered as a choice


def on_location(state: ConversationState, message: InboundMessage, ctx: FlowContext) -> Outcome:
    if message.kind is MessageKind.LOCATION:
        located = locate(state, message, ctx)
        return located if isinstance(located, Outcome) else advance_with_place(located, ctx)
    text = text_of(message).strip()
    if letters(text) < 3:
        return Outcome(state, [location_question(state, ctx)])
    return place_from_text(state, text, ctx)


def on_choose_kecamatan(
    state: ConversationState, message: InboundMessage, ctx: FlowContext
) -> Outcome:
    choice = answer(message, kecamatan_choices(ctx))
    if choice is None:
        return _named_kelurahan(state, text_of(message).strip(), ctx)
    kecamatan = choice.value.removeprefix("kec:")
    options = [k.code for k in ctx.catalog.gazetteer.in_kecamatan(kecamatan)]
    state = replace(
        state, step=Step.CHOOSE_KELURAHAN, kecamatan=kecamatan, kelurahan_options=options, page=0
    )
    return Outcome(state, [kelurahan_menu(state, ctx)])


def on_choose_kelurahan(
    state: ConversationState, message: InboundMessage, ctx: FlowContext
) -> Outcome:
    choice = answer(message, kelurahan_page(state, ctx))
    if choice is None and message.kind is MessageKind.CHOICE and message.choice:
        code = message.choice.removeprefix("kel:")
        if code in state.kelurahan_options:
            choice = Choice(message.choice, code)
    if choice is None:
        return _named_kelurahan(state, text_of(message), ctx)
    if choice.value == "more":
        state = replace(state, page=state.page + 1)
        return Outcome(state, [kelurahan_menu(state, ctx)])
    if choice.value == "none":
        state = replace(state, step=Step.CHOOSE_KECAMATAN, kecamatan=None, kelurahan_options=[])
        return Outcome(state, [kecamatan_menu(state, ctx, "location_unknown")])
    kelurahan = ctx.catalog.gazetteer.by_code(choice.value.removeprefix("kel:"))
    if kelurahan is None:
        return not_understood(state, ctx)
    return advance_with_place(with_kelurahan(state, kelurahan, state.pending_address), ctx)


def _named_kelurahan(state: ConversationState, text: str, ctx: FlowContext) -> Outcome:
    """A kelurahan typed instead of picked from the menu (the address typed earlier stays)."""
    found = ctx.catalog.gazetteer.best(text)
    if found:
        return advance_with_place(with_kelurahan(state, found, state.pending_address), ctx)
    return not_understood(state, ctx)


def locate(
    state: ConversationState, message: InboundMessage, ctx: FlowContext
) -> ConversationState | Outcome:
    """A GPS point: inside the city it sets the place; outside, the citizen is told why not."""
    point = message.location
    assert point is not None
    gazetteer = ctx.catalog.gazetteer
    if not gazetteer.contains(point):
        state = replace(state, step=Step.LOCATION) if state.step is Step.LOCATION else state
        reply = say(
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
        return Outcome(state, [kecamatan_menu(state, ctx, "choose_kelurahan")])
    return with_kelurahan(state, kelurahan, address, point)


def place_from_text(state: ConversationState, text: str, ctx: FlowContext) -> Outcome:
    gazetteer = ctx.catalog.gazetteer
    found = gazetteer.best(text)
    if found:
        return advance_with_place(with_kelurahan(state, found, text), ctx)
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
        return Outcome(state, [kelurahan_menu(state, ctx)])
    close = [k.code for k, score in search.kelurahan if score >= CLOSE_PLACE_SCORE]
    if close:
        state = replace(
            state, step=Step.CHOOSE_KELURAHAN, kecamatan=None, kelurahan_options=close, page=0
        )
        return Outcome(state, [kelurahan_menu(state, ctx)])
    state = replace(state, step=Step.CHOOSE_KECAMATAN)
    return Outcome(state, [kecamatan_menu(state, ctx, "location_unknown")])


def advance_with_place(state: ConversationState, ctx: FlowContext) -> Outcome:
    place = state.draft.place
    assert place is not None
    found = say(ctx, state, "location_found", kelurahan=place.kelurahan, kecamatan=place.kecamatan)
    outcome = advance(state, ctx)
    return Outcome(outcome.state, [found, *outcome.replies], outcome.effects)
