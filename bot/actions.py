"""One place that applies what happens to a filed report, whoever does it.

Officers act from their Telegram group (bot/desk.py) or through the REST API (bot/api.py);
citizens rate, reopen, add information and support reports through the pipeline (the effect
handlers at the end of this module). Every action runs inside the caller's unit of work and:

- checks the lifecycle (intake/lifecycle.py) and refuses with the reason (`ActionError`);
- records a status event with the actor ("officer:<telegram user id>", "api", "citizen",
  "system") and updates the report with a compare-and-set on its status, so two officers
  pressing at once cannot both win;
- queues the citizen's notification in the outbox, on the citizen's own channel and in their
  language, marked with `Reply.notice = StatusNotice(ticket, label)` (WhatsApp sends those as a
  template outside its 24-hour window); supporters of the report get status updates too;
- marks the report's cards for re-rendering (`ReportCard.refresh_due_at`); the desk's card
  worker edits them in place after the transaction commits.

Anonymous reports never reveal their reporter: cards, /laporan and the API show no name, phone
or chat; officers reach the reporter only through the bot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from intake import flow
from intake.cards import (
    CardEvent,
    CardView,
    actor_name,
    reject_reason,
    render_card,
    status_name,
)
from intake.catalog import Catalog
from intake.duplicates import ReportSketch, find_duplicates
from intake.lifecycle import OPEN, Refusal, allowed_moves, as_status, can_reassign, check_move
from intake.status import status_label
from intake.tickets import parse_ticket
from intake.types import (
    ChannelCapabilities,
    Choice,
    GeoPoint,
    MediaRef,
    Reply,
    ReportDraft,
    ReportStatus,
    StatusNotice,
    conversation_key,
)
from storage import UnitOfWork
from storage.models import (
    CLOSED_RATED,
    FROM_CITIZEN,
    FROM_OFFICER,
    Attachment,
    Contact,
    Report,
    ReportCard,
    ReportMessage,
)

if TYPE_CHECKING:
    from bot.effects import EffectContext
    from bot.pipeline import ConversationStore

log = logging.getLogger(__name__)

ACTOR_CITIZEN = "citizen"
ACTOR_SYSTEM = "system"
ACTOR_API = "api"
DUPLICATE_WINDOW = timedelta(days=90)  # open reports older than this are not offered
TELEGRAM = "telegram"
MAX_CARD_PHOTOS = 10


@dataclass(frozen=True)
class Actor:
    id: str  # "officer:<telegram user id>", "api", "citizen", "system"
    name: str = ""  # how officers see them on cards

    @classmethod
    def officer(cls, user_id: str, name: str) -> Actor:
        return cls(f"officer:{user_id}", name or user_id)

    @property
    def display(self) -> str:
        return self.name or self.id


class ActionError(Exception):
    """An action refused; `message` is for officers, `code` maps to an HTTP status."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # "not_found" | "refused" | "invalid"
        self.message = message


@dataclass
class DeskEnv:
    """What actions need besides the unit of work."""

    catalog: Catalog
    now: datetime
    capabilities: Mapping[str, ChannelCapabilities] = field(default_factory=dict)
    conversations: ConversationStore | None = None  # where citizens' languages are found

    @property
    def lang(self) -> str:
        return self.catalog.default_language

    def text(self, key: str, **values: object) -> str:
        return self.catalog.texts.desk(key, self.lang, **values)


# --- reading -------------------------------------------------------------------------------


async def find_report(uow: UnitOfWork, ticket: str, env: DeskEnv) -> Report:
    canonical = parse_ticket(ticket, env.catalog.ticket_prefix) or ticket.strip().upper()
    report = await uow.reports.get(canonical)
    if report is None or report.id is None:
        raise ActionError("not_found", env.text("not_found", ticket=ticket))
    return report


async def is_closed(uow: UnitOfWork, report: Report) -> bool:
    assert report.id is not None
    state = await uow.desk.state(report.id)
    return state is not None and state.closed_at is not None


async def card_view(
    uow: UnitOfWork,
    env: DeskEnv,
    report: Report,
    *,
    moved_to: str | None = None,
    with_candidates: bool = False,
) -> CardView:
    """The report as cards show it (never the reporter of an anonymous report)."""
    assert report.id is not None
    state = await uow.desk.state(report.id)
    photos = await uow.reports.attachments(report.id)
    supporters = await uow.desk.supporters(report.id)
    counts = await uow.desk.message_counts(report.id)
    events = await uow.reports.timeline(report.id)
    officers = {e.actor.partition(":")[2] for e in events if e.actor.startswith("officer:")}
    names = await uow.desk.officer_names(officers)
    reporter = None
    if not report.anonymous and report.contact_id is not None:
        contact = await uow.session.get(Contact, report.contact_id)
        if contact is not None:
            parts = [p for p in (contact.display_name, contact.phone) if p]
            reporter = " · ".join(parts) or None
    duplicate_of = None
    if state is not None and state.duplicate_of is not None:
        original = await uow.reports.get_by_id(state.duplicate_of)
        duplicate_of = original.ticket if original else None
    candidates: tuple[str, ...] = ()
    if with_candidates:
        found = await duplicates_of_report(uow, env, report)
        candidates = tuple(found)
    return CardView(
        ticket=report.ticket,
        status=report.status,
        category_id=report.category_id,
        agency_id=report.agency_id,
        description=report.description,
        created_at=report.created_at,
        channel=report.channel,
        anonymous=report.anonymous,
        confidential=report.confidential,
        kelurahan=report.kelurahan,
        kecamatan=report.kecamatan,
        address=report.address,
        reporter=reporter,
        photos=len(photos),
        shareable_photos=len(_shareable(photos)),
        supporters=len(supporters),
        additions=counts.get(FROM_CITIZEN, 0),
        events=[
            CardEvent(
                e.created_at,
                e.status,
                actor_name(e.actor, names, env.catalog, env.lang),
                e.note or "",
            )
            for e in events
        ],
        rating=state.rating if state else None,
        closed=bool(state and state.closed_at),
        close_reason=state.close_reason if state else None,
        duplicate_of=duplicate_of,
        moved_to=moved_to,
        duplicate_candidates=candidates,
    )


def _shareable(photos: list[Attachment]) -> list[Attachment]:
    """Photos officers can be shown in Telegram: Telegram photos, by their file id."""
    return [p for p in photos if p.channel == TELEGRAM and p.mime in ("", "image/jpeg")]


async def render_report_card(
    uow: UnitOfWork, env: DeskEnv, report: Report, card: ReportCard | None = None
) -> Reply:
    moved_to = report.agency_id if card is not None and not card.active else None
    menu = card.menu if card is not None else None
    view = await card_view(uow, env, report, moved_to=moved_to, with_candidates=menu == "reject")
    text, choices = render_card(view, env.catalog, env.lang, menu=menu)
    return Reply(text, choices=choices, lang=env.lang)


async def duplicates_of_report(uow: UnitOfWork, env: DeskEnv, report: Report) -> list[str]:
    """Tickets of open reports that look like `report` (for the officers' reject menu)."""
    if report.category_id is None:
        return []
    since = report.created_at - DUPLICATE_WINDOW
    found = await uow.desk.similar_candidates(report.category_id, _open(), since)
    return [m.ticket for m in find_duplicates(_sketch(report), [_sketch(r) for r in found])]


async def find_duplicate_for(uow: UnitOfWork, draft: ReportDraft, now: datetime) -> Report | None:
    """An open, non-confidential report that looks like the citizen's draft."""
    if draft.category_id is None:
        return None
    found = await uow.desk.similar_candidates(draft.category_id, _open(), now - DUPLICATE_WINDOW)
    if not found:
        return None
    place = draft.place
    new = ReportSketch(
        ticket="",
        category_id=draft.category_id,
        description=draft.description,
        kelurahan_code=place.code if place else None,
        point=place.point if place else None,
    )
    matches = find_duplicates(new, [_sketch(r) for r in found], limit=1)
    if not matches:
        return None
    return next(r for r in found if r.ticket == matches[0].ticket)


def _sketch(report: Report) -> ReportSketch:
    point = (
        GeoPoint(report.lat, report.lon)
        if report.lat is not None and report.lon is not None
        else None
    )
    return ReportSketch(
        ticket=report.ticket,
        category_id=report.category_id,
        description=report.description,
        kelurahan_code=report.kelurahan_code,
        point=point,
    )


def _open() -> list[str]:
    return [s.value for s in OPEN]


# --- cards in officers' groups -------------------------------------------------------------


async def post_card(
    uow: UnitOfWork, env: DeskEnv, report: Report, chat_id: str
) -> ReportCard | None:
    """Queue the report's card (text and buttons), then its photos and location pin."""
    assert report.id is not None
    card_reply = await render_report_card(uow, env, report)
    key = conversation_key(TELEGRAM, chat_id)
    outbox_id = await uow.outbox.add(
        key, TELEGRAM, chat_id, card_reply.to_dict(), env.now, now=env.now
    )
    photos = [a.platform_ref for a in _shareable(await uow.reports.attachments(report.id))]
    point = (
        GeoPoint(report.lat, report.lon)
        if report.lat is not None and report.lon is not None
        else None
    )
    media_outbox_id = None
    if photos or point:
        caption = env.text("card_media", ticket=report.ticket) if photos else ""
        media = Reply(caption, photos=tuple(photos[:MAX_CARD_PHOTOS]), location=point)
        media_outbox_id = await uow.outbox.add(
            key, TELEGRAM, chat_id, media.to_dict(), env.now, now=env.now
        )
    return await uow.desk.add_card(
        report.id, chat_id, env.now, outbox_id=outbox_id, media_outbox_id=media_outbox_id
    )


async def report_filed(uow: UnitOfWork, env: DeskEnv, report: Report) -> ReportCard | None:
    """Route a new report to its agency's group (or the default officers' group)."""
    chat_id = env.catalog.officers_chat(report.agency_id)
    if chat_id is None:
        log.info("report %s: no officers' group configured for %s", report.ticket, report.agency_id)
        return None
    return await post_card(uow, env, report, chat_id)


async def tell_group(uow: UnitOfWork, env: DeskEnv, report: Report, reply: Reply) -> None:
    chat_id = env.catalog.officers_chat(report.agency_id)
    if chat_id is None:
        return
    key = conversation_key(TELEGRAM, chat_id)
    await uow.outbox.add(key, TELEGRAM, chat_id, reply.to_dict(), env.now, now=env.now)


# --- citizens' notifications ---------------------------------------------------------------

# Builds one recipient's notification: (language, channel capabilities, is the reporter).
NoticeBuilder = Callable[[str, ChannelCapabilities, bool], Reply | None]


async def notify(
    uow: UnitOfWork,
    env: DeskEnv,
    report: Report,
    build: NoticeBuilder,
    *,
    supporters: bool = True,
    reporter: bool = True,
) -> int:
    """Queue a notification for the reporter and (optionally) the report's supporters."""
    assert report.id is not None
    recipients: list[tuple[str, str, bool]] = []
    if reporter:
        recipients.append((report.channel, report.chat_id, True))
    if supporters:
        for s in await uow.desk.supporters(report.id):
            recipients.append((s.channel, s.chat_id, False))
    seen: set[tuple[str, str]] = set()
    queued = 0
    for channel, chat_id, is_reporter in recipients:
        if (channel, chat_id) in seen:
            continue
        seen.add((channel, chat_id))
        lang = await citizen_language(uow, env, channel, chat_id)
        reply = build(lang, env.capabilities.get(channel, ChannelCapabilities()), is_reporter)
        if reply is None:
            continue
        key = conversation_key(channel, chat_id)
        await uow.outbox.add(key, channel, chat_id, reply.to_dict(), env.now, now=env.now)
        queued += 1
    return queued


async def citizen_language(uow: UnitOfWork, env: DeskEnv, channel: str, chat_id: str) -> str:
    key = conversation_key(channel, chat_id)
    state: dict[str, Any] | None = None
    try:
        if env.conversations is not None:
            state, _ = await env.conversations.load(uow, key)
        else:
            loaded = await uow.conversations.load(key)
            state = loaded[0] if loaded else None
    except Exception as exc:  # a language is not worth failing an officer's action for
        log.warning("could not read the language of %s: %s", key, exc)
    lang = (state or {}).get("lang")
    return lang if lang in ("id", "en") else env.catalog.default_language


def _t(env: DeskEnv, key: str, lang: str, caps: ChannelCapabilities, **values: object) -> str:
    return env.catalog.texts.get(key, lang, variant=caps.text_variant, **values)


def status_notice(
    env: DeskEnv,
    report: Report,
    status: str,
    note: str = "",
    *,
    original: str | None = None,
) -> NoticeBuilder:
    def build(lang: str, caps: ChannelCapabilities, is_reporter: bool) -> Reply:
        label = status_label(env.catalog, status, lang, agency_id=report.agency_id, note=note)
        lines = [_t(env, "notice_status", lang, caps, ticket=report.ticket, status=label)]
        if note and status != ReportStatus.REJECTED:
            lines.append(_t(env, "notice_note", lang, caps, note=note))
        if original:
            lines.append(_t(env, "notice_duplicate", lang, caps, original=original))
        choices: tuple[Choice, ...] = ()
        if status == ReportStatus.RESOLVED and is_reporter:
            lines.append(_t(env, "notice_rate", lang, caps))
            if caps.buttons:
                choices = flow.rating_choices(report.ticket, lang, env.catalog)
        return Reply(
            "\n".join(lines),
            choices=choices,
            notice=StatusNotice(report.ticket, label),
            lang=lang,
        )

    return build


def _current_label(env: DeskEnv, report: Report, lang: str) -> str:
    return status_label(env.catalog, report.status, lang, agency_id=report.agency_id)


# --- officers' actions ---------------------------------------------------------------------


async def change_status(
    uow: UnitOfWork,
    env: DeskEnv,
    report: Report,
    target: str,
    actor: Actor,
    note: str = "",
    *,
    original: str | None = None,
) -> str:
    """Move the report to `target`; returns what to tell the officer. Raises ActionError."""
    assert report.id is not None
    note = note.strip()
    closed = await is_closed(uow, report)
    refusal = check_move(report.status, target, closed=closed, note=note)
    if refusal is not None:
        code = (
            "invalid" if refusal in (Refusal.UNKNOWN_STATUS, Refusal.REASON_REQUIRED) else "refused"
        )
        raise ActionError(code, refusal_text(env, report, target, refusal, closed=closed))
    wanted = as_status(target)
    assert wanted is not None
    before = report.status
    if not await uow.desk.move_status(report, before, wanted.value, env.now):
        raise ActionError("refused", env.text("refused_changed", ticket=report.ticket))
    await uow.reports.add_event(report.id, wanted.value, actor.id, note or None, env.now)
    if actor.id.startswith("officer:"):
        await uow.desk.remember_officer(actor.id.partition(":")[2], actor.display, env.now)
    await notify(
        uow, env, report, status_notice(env, report, wanted.value, note, original=original)
    )
    await uow.desk.refresh_cards(report.id, env.now, menu=None)
    log.info("report %s: %s -> %s by %s", report.ticket, before, wanted.value, actor.id)
    return env.text(
        "moved",
        ticket=report.ticket,
        status=status_name(wanted.value, env.catalog, env.lang),
        officer=actor.display,
    )


def refusal_text(
    env: DeskEnv, report: Report, target: str, refusal: Refusal, *, closed: bool = False
) -> str:
    status = status_name(report.status, env.catalog, env.lang)
    match refusal:
        case Refusal.UNKNOWN_STATUS:
            return env.text("refused_unknown_status", value=target)
        case Refusal.SAME:
            return env.text("refused_same", ticket=report.ticket, status=status)
        case Refusal.FINAL:
            return env.text("refused_final", ticket=report.ticket)
        case Refusal.CLOSED:
            return env.text("refused_closed", ticket=report.ticket)
        case Refusal.REASON_REQUIRED:
            return env.text("refused_reason_required", ticket=report.ticket)
    allowed = ", ".join(
        status_name(s.value, env.catalog, env.lang)
        for s in allowed_moves(report.status, closed=closed)
    )
    return env.text(
        "refused_not_allowed",
        ticket=report.ticket,
        status=status,
        allowed=allowed or env.text("refused_nothing"),
    )


async def reject_for_reason(
    uow: UnitOfWork, env: DeskEnv, report: Report, code: str, actor: Actor
) -> str:
    reason = reject_reason(code, env.catalog, env.lang)
    if reason is None:
        raise ActionError("invalid", env.text("refused_reason_required", ticket=report.ticket))
    return await change_status(uow, env, report, ReportStatus.REJECTED.value, actor, reason)


async def reassign(
    uow: UnitOfWork, env: DeskEnv, report: Report, agency_id: str, actor: Actor
) -> str:
    """Give the report to another agency: its group gets a card, the old card says so."""
    assert report.id is not None
    agency = resolve_agency(env.catalog, agency_id)
    if agency is None:
        known = ", ".join(sorted(env.catalog.agencies))
        raise ActionError("invalid", env.text("unknown_agency", value=agency_id, known=known))
    if not can_reassign(report.status):
        status = status_name(report.status, env.catalog, env.lang)
        raise ActionError(
            "refused", env.text("refused_reassign", ticket=report.ticket, status=status)
        )
    if agency == report.agency_id:
        name = env.catalog.agency_name(agency)
        raise ActionError(
            "refused", env.text("refused_same_agency", ticket=report.ticket, agency=name)
        )
    before = report.agency_id
    await uow.desk.set_agency(report, agency, env.now)
    name = env.catalog.agency_name(agency)
    note = env.text("reassigned_short", agency=name)
    await uow.reports.add_event(report.id, report.status, actor.id, note, env.now)
    if actor.id.startswith("officer:"):
        await uow.desk.remember_officer(actor.id.partition(":")[2], actor.display, env.now)
    new_chat = env.catalog.officers_chat(agency)
    has_card_there = False
    for card in await uow.desk.cards(report.id):
        assert card.id is not None
        if card.chat_id == new_chat:
            has_card_there = True
            await uow.desk.set_card(card.id, env.now, refresh_due_at=env.now, menu=None)
        else:  # the old group keeps a card that says where the report went, without buttons
            await uow.desk.set_card(card.id, env.now, active=False, refresh_due_at=env.now)
    if new_chat is not None and not has_card_there:
        await post_card(uow, env, report, new_chat)

    def build(lang: str, caps: ChannelCapabilities, is_reporter: bool) -> Reply:
        agency_name = env.catalog.agency_name(agency)
        text = _t(env, "notice_reassigned", lang, caps, ticket=report.ticket, agency=agency_name)
        label = _current_label(env, report, lang)
        return Reply(text, notice=StatusNotice(report.ticket, label), lang=lang)

    await notify(uow, env, report, build)
    log.info("report %s: agency %s -> %s by %s", report.ticket, before, agency, actor.id)
    return env.text("reassigned", ticket=report.ticket, agency=name, officer=actor.display)


def resolve_agency(catalog: Catalog, value: str) -> str | None:
    """An agency id from its id or (part of) its name."""
    wanted = value.strip().lower()
    if not wanted:
        return None
    if wanted in catalog.agencies:
        return wanted
    named = [a.id for a in catalog.agencies.values() if wanted in a.name.lower()]
    return named[0] if len(named) == 1 else None


async def mark_duplicate(
    uow: UnitOfWork, env: DeskEnv, report: Report, original_ticket: str, actor: Actor
) -> str:
    """Reject `report` as a duplicate of another; its reporter then supports the original."""
    assert report.id is not None
    original = await find_report(uow, original_ticket, env)
    assert original.id is not None
    if original.id == report.id:
        raise ActionError("refused", env.text("refused_self_duplicate"))
    if original.status == ReportStatus.REJECTED:
        status = status_name(original.status, env.catalog, env.lang)
        raise ActionError(
            "refused", env.text("refused_duplicate_target", ticket=original.ticket, status=status)
        )
    reason = env.text("reason_duplicate", ticket=original.ticket)
    await change_status(
        uow, env, report, ReportStatus.REJECTED.value, actor, reason, original=original.ticket
    )
    await uow.desk.update_state(report.id, env.now, duplicate_of=original.id)
    if not (original.channel == report.channel and original.chat_id == report.chat_id):
        await uow.desk.add_supporter(
            original.id, report.channel, report.chat_id, report.contact_id, env.now
        )
    for supporter in await uow.desk.supporters(report.id):  # they follow the original too
        if not (supporter.channel == original.channel and supporter.chat_id == original.chat_id):
            await uow.desk.add_supporter(
                original.id, supporter.channel, supporter.chat_id, supporter.contact_id, env.now
            )
    await uow.desk.refresh_cards(report.id, env.now)
    await uow.desk.refresh_cards(original.id, env.now)
    return env.text("duplicate_marked", ticket=report.ticket, original=original.ticket)


async def reply_to_citizen(
    uow: UnitOfWork, env: DeskEnv, report: Report, text: str, actor: Actor
) -> ReportMessage:
    """Relay an officer's message to the reporter (never to supporters)."""
    assert report.id is not None
    text = text.strip()
    if not text:
        raise ActionError("invalid", env.text("reply_which"))
    message = await uow.desk.add_message(
        report.id,
        FROM_OFFICER,
        actor.id,
        text,
        env.now,
        author_name=actor.name or None,
    )
    if actor.id.startswith("officer:"):
        await uow.desk.remember_officer(actor.id.partition(":")[2], actor.display, env.now)

    def build(lang: str, caps: ChannelCapabilities, is_reporter: bool) -> Reply:
        body = _t(env, "notice_reply", lang, caps, ticket=report.ticket, text=text)
        label = _current_label(env, report, lang)
        return Reply(body, notice=StatusNotice(report.ticket, label), lang=lang)

    await notify(uow, env, report, build, supporters=False)
    log.info("report %s: reply relayed from %s", report.ticket, actor.id)
    return message


# --- the time limits (bot/sla.py) ----------------------------------------------------------


async def autoclose(uow: UnitOfWork, env: DeskEnv, report: Report, reason: str) -> bool:
    """Close a resolved report nobody answered; tells the reporter. False if closed already."""
    assert report.id is not None
    if not await uow.desk.close(report.id, reason, env.now):
        return False

    def build(lang: str, caps: ChannelCapabilities, is_reporter: bool) -> Reply:
        text = _t(env, "notice_closed", lang, caps, ticket=report.ticket)
        label = _current_label(env, report, lang)
        return Reply(text, notice=StatusNotice(report.ticket, label), lang=lang)

    await notify(uow, env, report, build, supporters=False)
    await uow.desk.refresh_cards(report.id, env.now)
    return True


# --- citizens' follow-ups (effect handlers; registered in bot/effects.py) ------------------


def effect_env(ctx: EffectContext) -> DeskEnv:
    return DeskEnv(ctx.catalog, ctx.now, {ctx.message.channel: ctx.flow.capabilities})


async def _own_report(ctx: EffectContext, ticket: str | None) -> tuple[Report | None, str]:
    """The report a follow-up is about, and the text key saying why not (if so)."""
    if ticket is None:
        found = await ctx.uow.desk.awaiting_rating(
            ctx.message.channel, ctx.message.chat_id, ReportStatus.RESOLVED.value
        )
        return found, "" if found else "rate_nothing"
    report = await ctx.uow.reports.get(ticket)
    if report is None or report.id is None:
        return None, "check_not_found"
    if not _is_reporter(ctx, report):
        return None, "followup_not_yours"
    return report, ""


def _is_reporter(ctx: EffectContext, report: Report) -> bool:
    return report.channel == ctx.message.channel and (
        report.contact_id == ctx.contact.id or report.chat_id == ctx.message.chat_id
    )


async def _resolved_and_open(ctx: EffectContext, report: Report) -> str:
    if report.status != ReportStatus.RESOLVED:
        return "followup_not_resolved"
    if await is_closed(ctx.uow, report):
        return "followup_closed"
    return ""


def _say(
    ctx: EffectContext, state: flow.ConversationState, key: str, **values: object
) -> flow.Outcome:
    return flow.Outcome(state, [flow.followup_reply(state, ctx.flow, key, **values)])


async def _resolved_own_report(
    ctx: EffectContext, state: flow.ConversationState, ticket: str | None
) -> tuple[Report | None, flow.Outcome]:
    """The citizen's own report when it is resolved and still open (to rate or reopen it);
    otherwise None and the reply saying why not."""
    report, problem = await _own_report(ctx, ticket)
    if report is None:
        return None, _say(ctx, state, problem, ticket=ticket or "-")
    problem = await _resolved_and_open(ctx, report)
    if problem:
        return None, _say(ctx, state, problem, ticket=report.ticket)
    return report, flow.Outcome(state)


async def rate_report(
    effect: flow.RateReport, state: flow.ConversationState, ctx: EffectContext
) -> flow.Outcome:
    report, refusal = await _resolved_own_report(ctx, state, effect.ticket)
    if report is None:
        return refusal
    assert report.id is not None
    env = effect_env(ctx)
    await ctx.uow.desk.update_state(report.id, ctx.now, rating=effect.score, rated_at=ctx.now)
    await ctx.uow.desk.close(report.id, CLOSED_RATED, ctx.now)
    await tell_group(
        ctx.uow,
        env,
        report,
        Reply(env.text("citizen_rated", ticket=report.ticket, score=effect.score)),
    )
    await ctx.uow.desk.refresh_cards(report.id, ctx.now)
    log.info("report %s rated %s by its reporter", report.ticket, effect.score)
    return _say(ctx, state, "rated", ticket=report.ticket, score=effect.score)


async def reopen_report(
    effect: flow.ReopenReport, state: flow.ConversationState, ctx: EffectContext
) -> flow.Outcome:
    report, refusal = await _resolved_own_report(ctx, state, effect.ticket)
    if report is None:
        return refusal
    assert report.id is not None
    env = effect_env(ctx)
    note = effect.note.strip()
    target = ReportStatus.IN_PROGRESS.value
    if not await ctx.uow.desk.move_status(report, ReportStatus.RESOLVED.value, target, ctx.now):
        return _say(ctx, state, "followup_not_resolved", ticket=report.ticket)
    event_note = flow.followup_reply(state, ctx.flow, "not_fixed").text + (
        f": {note}" if note else ""
    )
    await ctx.uow.reports.add_event(report.id, target, ACTOR_CITIZEN, event_note, ctx.now)
    await notify(ctx.uow, env, report, status_notice(env, report, target), reporter=False)
    group_text = env.text("citizen_reopened", ticket=report.ticket, note=note).strip()
    await tell_group(ctx.uow, env, report, Reply(group_text))
    await ctx.uow.desk.refresh_cards(report.id, ctx.now, menu=None)
    log.info("report %s reopened by its reporter", report.ticket)
    return _say(ctx, state, "reopened", ticket=report.ticket)


async def add_info(
    effect: flow.AddInfo, state: flow.ConversationState, ctx: EffectContext
) -> flow.Outcome:
    """Check the ticket (starting to add), or pass an addition on to the report's group.

    Anyone who knows an open ticket may add to it (an SMS reporter sends photos over WhatsApp);
    officers are told whether the addition came from the reporter's own chat.
    """
    report = await ctx.uow.reports.get(effect.ticket)
    if report is None or report.id is None:
        return flow.add_info_refused(state, effect.ticket, "check_not_found", ctx.flow)
    if report.status not in _open():
        return flow.add_info_refused(state, report.ticket, "add_info_closed", ctx.flow)
    if not effect.text and effect.photo is None:
        return flow.add_info_ready(state, report.ticket, ctx.flow)
    env = effect_env(ctx)
    own = _is_reporter(ctx, report)
    attachment_id = None
    if effect.photo is not None:
        attachment = await ctx.uow.desk.add_attachment(report.id, effect.photo, ctx.now)
        attachment_id = attachment.id
    await ctx.uow.desk.add_message(
        report.id, FROM_CITIZEN, ACTOR_CITIZEN, effect.text, ctx.now, attachment_id=attachment_id
    )
    await ctx.uow.desk.touch(report, ctx.now)
    await tell_group(ctx.uow, env, report, _addition_for_group(env, report, effect, own))
    await ctx.uow.desk.refresh_cards(report.id, ctx.now)
    if not effect.acknowledge:
        return flow.Outcome(state)
    key = "add_info_received" if state.step is flow.Step.ADD_INFO else "add_info_sent"
    return _say(ctx, state, key, ticket=report.ticket)


def _addition_for_group(env: DeskEnv, report: Report, effect: flow.AddInfo, own: bool) -> Reply:
    if effect.photo is None:
        key = "citizen_added" if own else "citizen_added_other"
        return Reply(env.text(key, ticket=report.ticket, text=effect.text))
    photo: MediaRef = effect.photo
    if photo.channel != TELEGRAM:
        channel = photo.channel.capitalize() if photo.channel != "sms" else "SMS"
        caption = env.text("citizen_photo_elsewhere", ticket=report.ticket, channel=channel)
        if effect.text:
            caption += f"\n{effect.text}"
        return Reply(caption)
    caption = env.text("citizen_photo" if own else "citizen_photo_other", ticket=report.ticket)
    if effect.text:
        caption += f"\n{effect.text}"
    return Reply(caption[:1000], photos=(photo.ref,))


async def support_report(
    effect: flow.SupportReport, state: flow.ConversationState, ctx: EffectContext
) -> flow.Outcome:
    report = await ctx.uow.reports.get(effect.ticket)
    if report is None or report.id is None or report.status not in _open():
        return _say(ctx, state, "support_unavailable", ticket=effect.ticket)
    await ctx.uow.desk.add_supporter(
        report.id, ctx.message.channel, ctx.message.chat_id, ctx.contact.id, ctx.now
    )
    await ctx.uow.desk.refresh_cards(report.id, ctx.now)
    log.info("report %s got a supporter via %s", report.ticket, ctx.message.channel)
    return _say(ctx, state, "supported", ticket=report.ticket)


async def look_for_duplicates(
    effect: flow.FindDuplicates, state: flow.ConversationState, ctx: EffectContext
) -> flow.Outcome:
    """With the summary: offer a similar open report to support instead, if there is one."""
    existing = await find_duplicate_for(ctx.uow, effect.draft, ctx.now)
    if existing is None:
        return flow.Outcome(state)
    label = status_label(ctx.catalog, existing.status, state.lang, agency_id=existing.agency_id)
    return flow.duplicate_found(
        state,
        ctx.flow,
        ticket=existing.ticket,
        category_id=existing.category_id,
        kelurahan=existing.kelurahan,
        status=label,
        description=existing.description,
    )
