"""How each question is asked and its answer read.

A question is a Reply: its text in the citizen's language and the channel's text variant, and
its choices (buttons or lists; numbered lines on channels without them). Choice values are what
a button sends back, so an answer is matched against the same choices the question offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from intake.catalog import Catalog
from intake.choices import match_choice
from intake.flow.context import FlowContext
from intake.flow.state import ConversationState
from intake.types import Choice, InboundMessage, MessageKind, Reply

PAGE_SIZE = 8  # choices per page: fits a WhatsApp list (10 rows) with "more" to spare

# Values of the follow-up buttons; they carry the ticket so they work in any state.
RATE_PREFIX = "rate:"  # "rate:MDN-00012:5"
REOPEN_PREFIX = "reopen:"  # "reopen:MDN-00012"
ADD_PREFIX = "add:"  # "add:MDN-00012"
SUPPORT_PREFIX = "support:"  # "support:MDN-00012"
FILE_ANYWAY = "file_anyway"


# Saying things


def text_for(ctx: FlowContext, state: ConversationState, key: str, **values: object) -> str:
    variant = ctx.capabilities.text_variant
    return ctx.catalog.texts.get(key, state.lang, variant=variant, **values)


def in_language(replies: list[Reply], lang: str) -> list[Reply]:
    """Mark each reply with its language, for channels that add words (SMS choice hints)."""
    return [reply if reply.lang else replace(reply, lang=lang) for reply in replies]


def say(
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
        text_for(ctx, state, key, **values),
        choices=tuple(choices),
        request_location=request_location,
        remove_keyboard=remove_keyboard,
    )


# The questions and their choices


def greeting(state: ConversationState, ctx: FlowContext) -> Reply:
    return say(
        ctx, state, "greeting", city=ctx.catalog.city_name, choices=consent_choices(state, ctx)
    )


def consent_choices(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    other = ("en", "English") if state.lang == "id" else ("id", "Bahasa Indonesia")
    return [
        Choice("agree", text_for(ctx, state, "agree")),
        Choice("disagree", text_for(ctx, state, "disagree")),
        Choice(f"lang:{other[0]}", other[1]),
    ]


def description_question(state: ConversationState, ctx: FlowContext) -> Reply:
    return say(ctx, state, "ask_description", remove_keyboard=True)


def confirm_category_question(state: ConversationState, ctx: FlowContext) -> Reply:
    name = ctx.catalog.category_name(state.suggested[0] if state.suggested else None, state.lang)
    return say(
        ctx, state, "confirm_category", category=name, choices=confirm_category_choices(state, ctx)
    )


def confirm_category_choices(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    return [
        Choice("yes", text_for(ctx, state, "yes")),
        Choice("other", text_for(ctx, state, "choose_other")),
    ]


def category_page(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    order = state.suggested + [c.id for c in ctx.catalog.categories if c.id not in state.suggested]
    choices = [
        Choice(f"cat:{cid}", ctx.catalog.category_name(cid, state.lang))
        for cid in order
        if ctx.catalog.category(cid)
    ]
    return _page(choices, state.page, Choice("more", text_for(ctx, state, "more")))


def category_menu(state: ConversationState, ctx: FlowContext) -> Reply:
    return say(ctx, state, "choose_category", choices=category_page(state, ctx))


def location_question(state: ConversationState, ctx: FlowContext) -> Reply:
    if ctx.capabilities.location:
        return say(ctx, state, "ask_location", request_location=True)
    return say(ctx, state, "ask_location_text")


def kecamatan_choices(ctx: FlowContext) -> list[Choice]:
    return [Choice(f"kec:{name}", name) for name in ctx.catalog.gazetteer.kecamatan_names()]


def kecamatan_menu(state: ConversationState, ctx: FlowContext, key: str) -> Reply:
    return say(
        ctx, state, key, choices=kecamatan_choices(ctx), request_location=ctx.capabilities.location
    )


def kelurahan_page(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    gazetteer = ctx.catalog.gazetteer
    choices = []
    for code in state.kelurahan_options:
        kelurahan = gazetteer.by_code(code)
        if kelurahan:
            choices.append(Choice(f"kel:{code}", kelurahan.kelurahan, kelurahan.kecamatan))
    page = _page(choices, state.page, Choice("more", text_for(ctx, state, "more")))
    return [*page, Choice("none", text_for(ctx, state, "none_of_these"))]


def kelurahan_menu(state: ConversationState, ctx: FlowContext) -> Reply:
    return say(ctx, state, "choose_kelurahan", choices=kelurahan_page(state, ctx))


def photo_choices(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    if state.draft.photos:
        return [Choice("done", text_for(ctx, state, "done"))]
    return [Choice("skip", text_for(ctx, state, "skip"))]


def photos_question(state: ConversationState, ctx: FlowContext) -> Reply:
    return say(ctx, state, "ask_photos", remove_keyboard=True, choices=photo_choices(state, ctx))


def privacy_question(state: ConversationState, ctx: FlowContext) -> Reply:
    # No keyboard removal: with buttons it would make Telegram send the question in two parts
    # (the location keyboard is one-time, and the photo question already removed it).
    return say(ctx, state, "ask_privacy", choices=privacy_choices(state, ctx))


def privacy_choices(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    return [
        Choice("priv:normal", text_for(ctx, state, "privacy_normal")),
        Choice("priv:anonymous", text_for(ctx, state, "privacy_anonymous")),
        Choice("priv:confidential", text_for(ctx, state, "privacy_confidential")),
        Choice("priv:both", text_for(ctx, state, "privacy_both")),
    ]


def confirm_choices(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    return [
        Choice("send", text_for(ctx, state, "send")),
        Choice("edit", text_for(ctx, state, "edit")),
        Choice("cancel", text_for(ctx, state, "cancel")),
    ]


def edit_choices(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    fields = ["description", "category", "location", "photos", "privacy"]
    if not ctx.capabilities.photos:
        fields.remove("photos")
    return [Choice(f"edit:{f}", text_for(ctx, state, f"field_{f}")) for f in fields]


def edit_question(state: ConversationState, ctx: FlowContext) -> Reply:
    return say(ctx, state, "ask_edit", choices=edit_choices(state, ctx))


def summary(state: ConversationState, ctx: FlowContext) -> Reply:
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
    photos = str(len(draft.photos)) if draft.photos else text_for(ctx, state, "no_photos")
    text = text_for(
        ctx,
        state,
        "summary",
        description=shorten(draft.description, 300),
        category=ctx.catalog.category_name(draft.category_id, state.lang),
        location=location,
        area=area,  # without the typed address (the SMS form)
        photos=photos,
        privacy=text_for(ctx, state, privacy_key),
    )
    return Reply(text, choices=tuple(confirm_choices(state, ctx)))


def _page(choices: list[Choice], page: int, more: Choice) -> list[Choice]:
    if len(choices) <= PAGE_SIZE + 1:
        return choices
    pages = (len(choices) + PAGE_SIZE - 1) // PAGE_SIZE
    start = (page % pages) * PAGE_SIZE
    return [*choices[start : start + PAGE_SIZE], more]


# Following up a filed report


def duplicate_choices(state: ConversationState, ctx: FlowContext) -> list[Choice]:
    ticket = state.duplicate_of or ""
    return [
        Choice(
            f"{SUPPORT_PREFIX}{ticket}", text_for(ctx, state, "support_existing", ticket=ticket)
        ),
        Choice(FILE_ANYWAY, text_for(ctx, state, "file_anyway")),
    ]


def duplicate_offer(state: ConversationState, ctx: FlowContext) -> Reply:
    return say(
        ctx,
        state,
        "duplicate_offer",
        existing=state.duplicate_note,
        choices=duplicate_choices(state, ctx),
    )


def add_info_prompt(state: ConversationState, ctx: FlowContext) -> Reply:
    return say(
        ctx,
        state,
        "add_info_ask",
        ticket=state.adding_to or "-",
        choices=(Choice("done", text_for(ctx, state, "done")),),
    )


def rating_choices(ticket: str, lang: str, catalog: Catalog) -> tuple[Choice, ...]:
    """The answers to "how was it?" after a report is resolved: 1-5 and "not fixed"."""
    scores = tuple(Choice(f"{RATE_PREFIX}{ticket}:{n}", str(n)) for n in range(1, 6))
    return (*scores, Choice(f"{REOPEN_PREFIX}{ticket}", catalog.texts.get("not_fixed", lang)))


def followup_reply(state: ConversationState, ctx: FlowContext, key: str, **values: object) -> Reply:
    """A reply from the follow-up handlers, in the citizen's language and channel variant."""
    return Reply(text_for(ctx, state, key, **values), lang=state.lang)


# Reading answers


def answer(message: InboundMessage, choices: Sequence[Choice]) -> Choice | None:
    if message.kind is MessageKind.CHOICE and message.choice is not None:
        return match_choice(message.choice, choices)
    if message.kind in (MessageKind.TEXT, MessageKind.COMMAND):
        return match_choice(message.text, choices)
    return None


def text_of(message: InboundMessage) -> str:
    if message.kind is MessageKind.CHOICE:
        return message.choice or ""
    return message.text


def letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
