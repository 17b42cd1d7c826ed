"""The funnel observer: it runs inside each message's transaction (a pipeline observer). It
opens a funnel session when a conversation starts a report, marks every step reached, and closes
the session when the report is filed or abandoned (cancelled, expired, restarted, declined). It
works in a SAVEPOINT: a failure there is logged and never costs the citizen's message.
"""

from __future__ import annotations

import logging

from intake import flow
from intake.analytics import FILED, SUPPORTED, place_words, step_bit, topic_terms
from intake.catalog import Catalog
from intake.types import InboundMessage
from storage import UnitOfWork
from storage.analytics import AnalyticsRepository

log = logging.getLogger(__name__)


class FunnelRecorder:
    """The pipeline observer (see the module docstring); `stop_words` are left out of the
    topic words of filed reports, on top of intake.analytics.STOP_WORDS (place names)."""

    def __init__(self, stop_words: frozenset[str] = frozenset()) -> None:
        self.stop_words = stop_words

    @classmethod
    def for_catalog(cls, catalog: Catalog) -> FunnelRecorder:
        return cls(place_words(catalog.gazetteer.areas, catalog.city_name))

    async def __call__(
        self,
        uow: UnitOfWork,
        before: flow.ConversationState | None,
        after: flow.ConversationState,
        outcome: flow.Outcome,
        message: InboundMessage,
    ) -> None:
        was_in = before is not None and before.in_report
        ended = next((e for e in outcome.effects if isinstance(e, flow.ConversationEnded)), None)
        filed = next((e for e in outcome.effects if isinstance(e, flow.FileReport)), None)
        if not (was_in or after.in_report or ended or filed):
            return  # chatter outside a report: nothing to record, no query
        try:
            async with uow.session.begin_nested():
                await _record(uow, before, after, ended, filed, message, self.stop_words)
        except Exception:
            log.exception("funnel not recorded for a %s message", message.channel)


async def _record(
    uow: UnitOfWork,
    before: flow.ConversationState | None,
    after: flow.ConversationState,
    ended: flow.ConversationEnded | None,
    filed: flow.FileReport | None,
    message: InboundMessage,
    stop_words: frozenset[str],
) -> None:
    repo = AnalyticsRepository(uow.session, uow.reports.dialect)
    now = after.updated_at or message.received_at
    key, channel = message.conversation_key, message.channel
    campaign = after.campaign
    if ended is not None:
        # "batal" (or backing a similar report) belongs to the report it ends; after a restart
        # or an expiry the message starts (or is outside) the next one.
        counted = ended.reason in ("cancelled", SUPPORTED)
        await repo.end(key, ended.reason, ended.step, now, count_message=counted)
    if filed is not None:
        step = before.step.value if before is not None else flow.Step.CONFIRM.value
        report_id = await repo.report_id(after.last_ticket) if after.last_ticket else None
        if not await repo.end(key, FILED, step, now, count_message=True, report_id=report_id):
            await repo.record_ended(
                key, channel, FILED, step, step_bit(step), now, report_id, campaign=campaign
            )
        if report_id is not None and not filed.draft.confidential:  # rahasia: never published
            terms = topic_terms(filed.draft.description, stop_words)
            await repo.add_terms(report_id, now, terms)
    elif before is not None and before.in_report and not after.in_report and ended is None:
        # left without a word from the flow: the citizen declined the privacy notice
        await repo.end(key, "declined", before.step.value, now, count_message=True)
    if after.in_report:
        await repo.touch(
            key, channel, after.step.value, step_bit(after.step.value), now, campaign=campaign
        )
