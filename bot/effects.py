"""Carrying out what the flow asked for, inside the message's transaction.

`intake.flow.step` returns effects as data; each effect type has one handler here. A handler may
read and write storage through the unit of work and returns the (possibly updated) state and
any further replies. New effect types register a handler in `HANDLERS`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import actions
from intake import flow
from intake.catalog import Catalog
from intake.status import StatusEvent, StatusView, render_status
from intake.types import InboundMessage, Reply
from storage import UnitOfWork
from storage.models import Contact

log = logging.getLogger(__name__)


@dataclass
class EffectContext:
    """What a handler may use: the transaction, the message, its sender and the flow context."""

    uow: UnitOfWork
    message: InboundMessage
    contact: Contact
    flow: flow.FlowContext
    catalog: Catalog

    @property
    def now(self) -> datetime:
        return self.flow.now


Handler = Callable[[Any, flow.ConversationState, EffectContext], Awaitable[flow.Outcome]]


async def apply_effects(
    outcome: flow.Outcome, ctx: EffectContext
) -> tuple[flow.ConversationState, list[Reply]]:
    state, replies = outcome.state, list(outcome.replies)
    for effect in outcome.effects:
        handler = HANDLERS.get(type(effect))
        if handler is None:
            raise TypeError(f"no handler for effect {type(effect).__name__}")
        result = await handler(effect, state, ctx)
        state = result.state
        replies.extend(result.replies)
    return state, replies


async def file_report(
    effect: flow.FileReport, state: flow.ConversationState, ctx: EffectContext
) -> flow.Outcome:
    category = ctx.catalog.category(effect.draft.category_id)
    agency_id = category.agency if category else None
    report = await ctx.uow.reports.file(
        effect.draft,
        ticket_prefix=ctx.catalog.ticket_prefix,
        channel=ctx.message.channel,
        chat_id=ctx.message.chat_id,
        contact_id=ctx.contact.id,
        agency_id=agency_id,
        now=ctx.now,
    )
    log.info("report %s filed via %s", report.ticket, ctx.message.channel)
    await actions.report_filed(ctx.uow, actions.effect_env(ctx), report)  # the officers' card
    return flow.report_filed(state, report.ticket, agency_id or "", ctx.flow)


async def check_status(
    effect: flow.CheckStatus, state: flow.ConversationState, ctx: EffectContext
) -> flow.Outcome:
    view = await status_view(ctx.uow, effect.ticket, ctx.message)
    return flow.Outcome(state, [render_status(view, effect.ticket, state.lang, ctx.catalog)])


async def conversation_ended(
    effect: flow.ConversationEnded, state: flow.ConversationState, ctx: EffectContext
) -> flow.Outcome:
    log.info("conversation on %s ended at %s: %s", ctx.message.channel, effect.step, effect.reason)
    return flow.Outcome(state)


async def status_view(uow: UnitOfWork, ticket: str, message: InboundMessage) -> StatusView | None:
    report = await uow.reports.get(ticket)
    if report is None or report.id is None:
        return None
    contact = await uow.contacts.get(message.channel, message.sender_id)
    by_reporter = (
        contact is not None
        and report.contact_id == contact.id
        and report.channel == message.channel
    )
    events = await uow.reports.timeline(report.id)
    return StatusView(
        ticket=report.ticket,
        status=report.status,
        category_id=report.category_id,
        agency_id=report.agency_id,
        confidential=report.confidential,
        asked_by_reporter=by_reporter,
        events=[StatusEvent(e.created_at, e.status, e.note or "") for e in events],
    )


HANDLERS: dict[type, Handler] = {
    flow.FileReport: file_report,
    flow.CheckStatus: check_status,
    flow.ConversationEnded: conversation_ended,
    # duplicates and following up a filed report (officer desk, issue 6)
    flow.FindDuplicates: actions.look_for_duplicates,
    flow.RateReport: actions.rate_report,
    flow.ReopenReport: actions.reopen_report,
    flow.AddInfo: actions.add_info,
    flow.SupportReport: actions.support_report,
}
