"""Carrying out what the flow asked for, inside the message's transaction: filing the report,
answering a status question, and citizens' follow-ups of a filed report (rating, reopening,
adding information, supporting a similar report, duplicate offers).

`intake.flow.step` returns effects as data; each effect type has one handler here. A handler may
read and write storage through the unit of work and returns the (possibly updated) state and
any further replies. New effect types register a handler in `HANDLERS`; `apply_effects` is the
pipeline's `ApplyEffects` port.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bot.actions.filing import file_new_report
from bot.actions.lookups import LookupLimit, code_matches
from bot.actions.reports import (
    ACTOR_CITIZEN,
    DeskEnv,
    find_duplicate_for,
    is_closed,
    media_reply,
    notify,
    open_statuses,
    status_notice,
    tell_group,
)
from bot.core.ports import ApplyEffects, EffectContext
from intake import flow
from intake.status import StatusEvent, StatusView, render_status, status_label
from intake.types import (
    Reply,
    ReportStatus,
)
from storage import UnitOfWork
from storage.models import (
    CLOSED_RATED,
    FROM_CITIZEN,
    Attachment,
    Report,
)

log = logging.getLogger(__name__)


Handler = Callable[[Any, flow.ConversationState, EffectContext], Awaitable[flow.Outcome]]
LookupHandler = Callable[
    [Any, flow.ConversationState, EffectContext, LookupLimit], Awaitable[flow.Outcome]
]


def citizen_effects(lookups: LookupLimit) -> ApplyEffects:
    """The pipeline's effect handlers; `lookups` limits each sender's refused lookups."""

    async def apply_effects(
        outcome: flow.Outcome, ctx: EffectContext
    ) -> tuple[flow.ConversationState, list[Reply]]:
        state, replies = outcome.state, list(outcome.replies)
        for effect in outcome.effects:
            looking_up = LOOKUP_HANDLERS.get(type(effect))
            if looking_up is not None:
                result = await looking_up(effect, state, ctx, lookups)
            else:
                handler = HANDLERS.get(type(effect))
                if handler is None:
                    raise TypeError(f"no handler for effect {type(effect).__name__}")
                result = await handler(effect, state, ctx)
            if isinstance(effect, flow.FindDuplicates) and result.replies and effect.summary:
                # The offer is the one question now: the summary (and its numbered choices,
                # which would clash with the offer's on SMS) comes again if the citizen goes on.
                replies = [r for r in replies if r.text != effect.summary]
            state = result.state
            replies.extend(result.replies)
        return state, replies

    return apply_effects


async def file_report(
    effect: flow.FileReport, state: flow.ConversationState, ctx: EffectContext
) -> flow.Outcome:
    filed = await file_new_report(
        ctx.uow,
        ctx.catalog,
        effect.draft,
        channel=ctx.message.channel,
        chat_id=ctx.message.chat_id,
        contact_id=ctx.contact.id,
        now=ctx.now,
        capabilities=effect_env(ctx).capabilities,
        campaign=effect.campaign,
    )
    return flow.report_filed(state, filed.report.ticket, filed.agency_id, ctx.flow, code=filed.code)


async def check_status(
    effect: flow.CheckStatus,
    state: flow.ConversationState,
    ctx: EffectContext,
    lookups: LookupLimit,
) -> flow.Outcome:
    """The status for the reporter (with its history) or a holder of the report's code; the
    same status without history for a supporter; the unknown-ticket answer for anyone else."""
    message = ctx.message
    report = await ctx.uow.reports.get(effect.ticket)
    view = None
    if report is not None and _is_reporter(ctx, report):
        view = await status_view(ctx.uow, report, asked_by_reporter=True)
    elif lookups.blocked(message.channel, message.sender_id, ctx.now):
        return _lookups_limited(ctx, state, lookups)
    elif report is not None and code_matches(await _code_of(ctx, report), effect.code):
        view = await status_view(ctx.uow, report, asked_by_reporter=True)
    elif report is not None and await _is_supporter(ctx, report):
        view = await status_view(ctx.uow, report, asked_by_reporter=False)
    else:
        lookups.refused(message.channel, message.sender_id, ctx.now)
    return flow.Outcome(state, [render_status(view, effect.ticket, state.lang, ctx.catalog)])


def _lookups_limited(
    ctx: EffectContext, state: flow.ConversationState, lookups: LookupLimit
) -> flow.Outcome:
    minutes = max(1, int(lookups.window.total_seconds() // 60))
    return _say(ctx, state, "lookups_limited", minutes=minutes)


async def _code_of(ctx: EffectContext, report: Report) -> str | None:
    assert report.id is not None
    return await ctx.uow.reports.access_code(report.id)


async def _is_supporter(ctx: EffectContext, report: Report) -> bool:
    assert report.id is not None
    return any(
        s.channel == ctx.message.channel and s.chat_id == ctx.message.chat_id
        for s in await ctx.uow.desk.supporters(report.id)
    )


async def conversation_ended(
    effect: flow.ConversationEnded, state: flow.ConversationState, ctx: EffectContext
) -> flow.Outcome:
    log.info("conversation on %s ended at %s: %s", ctx.message.channel, effect.step, effect.reason)
    return flow.Outcome(state)


async def status_view(uow: UnitOfWork, report: Report, *, asked_by_reporter: bool) -> StatusView:
    """The report as a status answer shows it (`asked_by_reporter`: with its history)."""
    assert report.id is not None
    events = await uow.reports.timeline(report.id)
    return StatusView(
        ticket=report.ticket,
        status=report.status,
        category_id=report.category_id,
        agency_id=report.agency_id,
        confidential=report.confidential,
        asked_by_reporter=asked_by_reporter,
        events=[StatusEvent(e.created_at, e.status, e.note or "") for e in events],
    )


# --- following up a filed report -----------------------------------------------------------


def effect_env(ctx: EffectContext) -> DeskEnv:
    return DeskEnv(ctx.catalog, ctx.now, {ctx.message.channel: ctx.flow.capabilities})


async def _own_report(ctx: EffectContext, ticket: str | None) -> tuple[Report | None, str]:
    """The report a follow-up is about, and the text key saying why not (if so).

    Someone else's report is answered exactly like a ticket that does not exist (a forged
    rate or reopen button must not tell whether the report is there)."""
    if ticket is None:
        found = await ctx.uow.desk.awaiting_rating(
            ctx.message.channel, ctx.message.chat_id, ReportStatus.RESOLVED.value
        )
        return found, "" if found else "rate_nothing"
    report = await ctx.uow.reports.get(ticket)
    if report is None or report.id is None or not _is_reporter(ctx, report):
        return None, "check_not_found"
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
    effect: flow.AddInfo,
    state: flow.ConversationState,
    ctx: EffectContext,
    lookups: LookupLimit,
) -> flow.Outcome:
    """Check the ticket (starting to add), or pass an addition on to the report's group.

    The reporting contact may add to their report, and so may whoever gives its access code
    first ("TAMBAH MDN-00042 K7M3QX", e.g. an SMS reporter sending photos over WhatsApp):
    the conversation then stays admitted while it adds. Anyone else gets the unknown-ticket
    answer. Officers are told whether the addition came from the reporter's own chat.
    """
    message = ctx.message
    report = await ctx.uow.reports.get(effect.ticket)
    admitted = report is not None and (
        _is_reporter(ctx, report)
        or (state.step is flow.Step.ADD_INFO and state.adding_to == report.ticket)
    )
    if not admitted:
        if lookups.blocked(message.channel, message.sender_id, ctx.now):
            return _lookups_limited(ctx, state, lookups)
        code, _, rest = effect.text.strip().partition(" ")
        if report is None or not code_matches(await _code_of(ctx, report), code):
            lookups.refused(message.channel, message.sender_id, ctx.now)
            return flow.add_info_refused(state, effect.ticket, "add_info_not_found", ctx.flow)
        effect = replace(effect, text=rest.strip())  # the code is the key, not an addition
    assert report is not None and report.id is not None
    if report.status not in open_statuses():
        return flow.add_info_refused(state, report.ticket, "add_info_closed", ctx.flow)
    if not effect.text and effect.photo is None:
        return flow.add_info_ready(state, report.ticket, ctx.flow)
    env = effect_env(ctx)
    own = _is_reporter(ctx, report)
    attachment = None
    if effect.photo is not None:
        attachment = await ctx.uow.desk.add_attachment(report.id, effect.photo, ctx.now)
    await ctx.uow.desk.add_message(
        report.id,
        FROM_CITIZEN,
        ACTOR_CITIZEN,
        effect.text,
        ctx.now,
        attachment_id=attachment.id if attachment else None,
    )
    await ctx.uow.desk.touch(report, ctx.now)
    addition = _addition_for_group(env, report, effect, attachment, own)
    await tell_group(ctx.uow, env, report, addition)
    await ctx.uow.desk.refresh_cards(report.id, ctx.now)
    if not effect.acknowledge:
        return flow.Outcome(state)
    key = "add_info_received" if state.step is flow.Step.ADD_INFO else "add_info_sent"
    return _say(ctx, state, key, ticket=report.ticket)


def _addition_for_group(
    env: DeskEnv, report: Report, effect: flow.AddInfo, attachment: Attachment | None, own: bool
) -> Reply:
    """What the group is told of an addition: the text, or the photo or voice note with it,
    shown as on the card (by Telegram file id, else uploaded from the media store)."""
    if attachment is None:
        key = "citizen_added" if own else "citizen_added_other"
        return Reply(env.text(key, ticket=report.ticket, text=effect.text))
    voice = attachment.mime.lower().startswith("audio/")
    if voice:
        key = "citizen_voice_heard" if own else "citizen_voice_heard_other"
    else:
        key = "citizen_photo" if own else "citizen_photo_other"
    caption = env.text(key, ticket=report.ticket)
    if effect.text:
        caption += f"\n{effect.text}"
    # A long text follows a voice note as a message; a photo's caption is cut to fit.
    return media_reply(caption if voice else caption[:1000], [attachment])


async def support_report(
    effect: flow.SupportReport, state: flow.ConversationState, ctx: EffectContext
) -> flow.Outcome:
    report = await ctx.uow.reports.get(effect.ticket)
    if report is None or report.id is None or report.status not in open_statuses():
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


HANDLERS: dict[type, Handler] = {
    flow.FileReport: file_report,
    flow.ConversationEnded: conversation_ended,
    # duplicates and following up a filed report (officer desk, issue 6)
    flow.FindDuplicates: look_for_duplicates,
    flow.RateReport: rate_report,
    flow.ReopenReport: reopen_report,
    flow.SupportReport: support_report,
}
# Effects that look a report up by its ticket: limited per sender (`LookupLimit`).
LOOKUP_HANDLERS: dict[type, LookupHandler] = {
    flow.CheckStatus: check_status,
    flow.AddInfo: add_info,
}
