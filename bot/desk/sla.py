"""Time limits: reminders in the officers' groups, and closing resolved reports nobody answered.

Every `interval` seconds (and whenever `run_once` is called, e.g. by tests with their own
clock) the worker looks at the reports still waiting for someone:

- received and not verified within `sla.verify_days` working days: reminded once;
- verified and not followed up (in progress or resolved) within `sla.respond_days` working days
  of the verification: reminded once;
- resolved, and neither rated nor reopened within `sla.autoclose_days` days: closed, and the
  reporter is told.

Working days are Monday to Friday in the service's time zone, minus `sla.holidays`. Reminders
for one group go out as one message per round. Each reminder and each closing is recorded with a
compare-and-set, so several workers (or a restart) never send one twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.actions.officer import autoclose
from bot.actions.reports import DeskEnv
from bot.core.ports import Clock
from intake.catalog import Catalog
from intake.lifecycle import RESOLVED, Reminder, SlaPolicy
from intake.types import Reply, ReportStatus, conversation_key
from storage import Store
from storage.models import CLOSED_AUTO, Report

log = logging.getLogger(__name__)

SLA_INTERVAL = 300.0  # seconds between rounds
_COLUMNS = {Reminder.VERIFY: "verify_reminded_at", Reminder.RESPOND: "respond_reminded_at"}
_WATCHED = [ReportStatus.RECEIVED.value, ReportStatus.VERIFIED.value, ReportStatus.RESOLVED.value]


@dataclass
class SlaRound:
    """What one round did: reminders per group (tickets) and closed tickets."""

    reminded: dict[str, list[str]] = field(default_factory=dict)
    closed: list[str] = field(default_factory=list)


class SlaWorker:
    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        policy: SlaPolicy,
        *,
        env: Callable[[datetime], DeskEnv],
        clock: Clock,
        wake: Callable[[], None],
        interval: float = SLA_INTERVAL,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.policy = policy
        self.env = env
        self.clock = clock
        self.wake = wake  # the outbox dispatcher and the card editor
        self.interval = interval

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("time limit round failed")
            await asyncio.sleep(self.interval)

    async def run_once(self, now: datetime | None = None) -> SlaRound:
        now = now or self.clock()
        catalog = self.catalog
        env = self.env(now)
        done = SlaRound()
        due: dict[str, dict[Reminder, list[Report]]] = defaultdict(lambda: defaultdict(list))
        async with self.store.unit_of_work() as uow:
            candidates = await uow.desk.sla_candidates(_WATCHED)
            ids = [r.id for r, _ in candidates if r.id is not None]
            moves = await uow.desk.last_moves(ids, [ReportStatus.VERIFIED, RESOLVED])
            for report, state in candidates:
                assert report.id is not None
                already = set()
                if state is not None and state.verify_reminded_at is not None:
                    already.add(Reminder.VERIFY)
                if state is not None and state.respond_reminded_at is not None:
                    already.add(Reminder.RESPOND)
                kind = self.policy.reminder_due(
                    report.status,
                    filed_at=report.created_at,
                    verified_at=moves.get((report.id, ReportStatus.VERIFIED.value)),
                    now=now,
                    already=already,
                )
                chat_id = catalog.officers_chat(report.agency_id)
                if (
                    kind is not None
                    and chat_id is not None
                    and await uow.desk.mark_reminded(report.id, _COLUMNS[kind], now)
                ):
                    due[chat_id][kind].append(report)
                resolved_at = moves.get((report.id, RESOLVED.value))
                if self.policy.should_autoclose(
                    report.status, resolved_at=resolved_at, closed=False, now=now
                ) and await autoclose(uow, env, report, CLOSED_AUTO):
                    done.closed.append(report.ticket)
            for chat_id, kinds in due.items():
                text = self._reminder(kinds, env.lang)
                key = conversation_key("telegram", chat_id)
                reply = Reply(text, lang=env.lang)
                await uow.outbox.add(key, "telegram", chat_id, reply.to_dict(), now, now=now)
                done.reminded[chat_id] = [r.ticket for rs in kinds.values() for r in rs]
        if done.reminded or done.closed:
            log.info("time limits: reminded %s, closed %s", done.reminded, done.closed)
            self.wake()
        return done

    def _reminder(self, kinds: dict[Reminder, list[Report]], lang: str) -> str:
        catalog = self.catalog
        lines = [catalog.texts.desk("reminder_header", lang)]
        days = {
            Reminder.VERIFY: self.policy.verify_days,
            Reminder.RESPOND: self.policy.respond_days,
        }
        for kind in (Reminder.VERIFY, Reminder.RESPOND):
            reports = kinds.get(kind)
            if not reports:
                continue
            lines.append(catalog.texts.desk(f"reminder_{kind.value}", lang, days=days[kind]))
            for report in reports:
                filed = report.created_at.astimezone(catalog.tz).strftime("%d-%m-%Y")
                lines.append(
                    catalog.texts.desk(
                        "reminder_line",
                        lang,
                        ticket=report.ticket,
                        category=catalog.category_name(report.category_id, lang),
                        kelurahan=report.kelurahan or "-",
                        filed=filed,
                    )
                )
        return "\n".join(lines)
