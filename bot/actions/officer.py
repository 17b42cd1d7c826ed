"""Officers' actions on a report: status moves, rejection, reassignment, duplicates, replies to
the reporter, and closing a resolved report nobody answered. The desk (`bot.desk`) and the REST
API (`bot.web.api`) both call these, so the two behave the same."""

from __future__ import annotations

import logging

from bot.actions.reports import (
    ActionError,
    Actor,
    DeskEnv,
    citizen_text,
    current_label,
    find_report,
    is_closed,
    notify,
    post_card,
    status_notice,
)
from intake.cards import (
    reject_reason,
    status_name,
)
from intake.catalog import Catalog
from intake.lifecycle import Refusal, allowed_moves, as_status, can_reassign, check_move
from intake.types import (
    ChannelCapabilities,
    Reply,
    ReportStatus,
    StatusNotice,
)
from storage import UnitOfWork
from storage.models import (
    FROM_OFFICER,
    Report,
    ReportMessage,
)

log = logging.getLogger(__name__)


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
    uow: UnitOfWork,
    env: DeskEnv,
    report: Report,
    agency_id: str,
    actor: Actor,
    *,
    category_id: str | None = None,
) -> str:
    """Give the report to another agency (or category): its group gets a card, the old card says
    so. `agency_id` may also name a category ("drainase_banjir"), which sets both.

    When the report's category becomes known or changes (a category named, or an agency with a
    single category), the description and the new category are kept as a training example for
    `lapor train`.
    """
    assert report.id is not None
    agency, category = resolve_target(env.catalog, category_id or agency_id)
    if agency is None:
        known = ", ".join(sorted(env.catalog.agencies))
        value = category_id or agency_id
        raise ActionError("invalid", env.text("unknown_agency", value=value, known=known))
    if not can_reassign(report.status):
        status = status_name(report.status, env.catalog, env.lang)
        raise ActionError(
            "refused", env.text("refused_reassign", ticket=report.ticket, status=status)
        )
    recategorised = category is not None and category != report.category_id
    if agency == report.agency_id and not recategorised:
        name = env.catalog.agency_name(agency)
        raise ActionError(
            "refused", env.text("refused_same_agency", ticket=report.ticket, agency=name)
        )
    before, before_category = report.agency_id, report.category_id
    if recategorised:
        assert category is not None
        await uow.desk.set_category(report, category, env.now)
        await uow.examples.add(
            report_id=report.id,
            description=report.description,
            category_id=category,
            previous_category_id=before_category,
            actor=actor.id,
            now=env.now,
        )
    name = env.catalog.agency_name(agency)
    if agency == before:  # another category of the same agency: the card is edited in place
        assert category is not None
        category_name = env.catalog.category_name(category, env.lang)
        note = env.text("recategorised_short", category=category_name)
        await uow.reports.add_event(report.id, report.status, actor.id, note, env.now)
        await uow.desk.refresh_cards(report.id, env.now, menu=None)
        log.info(
            "report %s: category %s -> %s by %s", report.ticket, before_category, category, actor.id
        )
        return env.text(
            "recategorised", ticket=report.ticket, category=category_name, officer=actor.display
        )
    await uow.desk.set_agency(report, agency, env.now)
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
        text = citizen_text(
            env, "notice_reassigned", lang, caps, ticket=report.ticket, agency=agency_name
        )
        label = current_label(env, report, lang)
        return Reply(text, notice=StatusNotice(report.ticket, label), lang=lang)

    await notify(uow, env, report, build)
    log.info("report %s: agency %s -> %s by %s", report.ticket, before, agency, actor.id)
    return env.text("reassigned", ticket=report.ticket, agency=name, officer=actor.display)


def resolve_target(catalog: Catalog, value: str) -> tuple[str | None, str | None]:
    """(agency id, category id or None) for a reassignment to `value`.

    A category id names both; an agency (id or part of its name) names its only category when it
    has exactly one, else no category.
    """
    wanted = value.strip().lower()
    category = catalog.category(wanted)
    if category is not None and category.agency in catalog.agencies:
        return category.agency, category.id
    agency = resolve_agency(catalog, value)
    if agency is None:
        return None, None
    own = [c.id for c in catalog.categories if c.agency == agency]
    return agency, own[0] if len(own) == 1 else None


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
        body = citizen_text(env, "notice_reply", lang, caps, ticket=report.ticket, text=text)
        label = current_label(env, report, lang)
        return Reply(body, notice=StatusNotice(report.ticket, label), lang=lang)

    await notify(uow, env, report, build, supporters=False)
    log.info("report %s: reply relayed from %s", report.ticket, actor.id)
    return message


# --- the time limits (bot.desk.sla) --------------------------------------------------------


async def autoclose(uow: UnitOfWork, env: DeskEnv, report: Report, reason: str) -> bool:
    """Close a resolved report nobody answered; tells the reporter. False if closed already."""
    assert report.id is not None
    if not await uow.desk.close(report.id, reason, env.now):
        return False

    def build(lang: str, caps: ChannelCapabilities, is_reporter: bool) -> Reply:
        text = citizen_text(env, "notice_closed", lang, caps, ticket=report.ticket)
        label = current_label(env, report, lang)
        return Reply(text, notice=StatusNotice(report.ticket, label), lang=lang)

    await notify(uow, env, report, build, supporters=False)
    await uow.desk.refresh_cards(report.id, env.now)
    return True
