"""The ports of the core: what the pipeline and the dispatcher need from the world, as protocols.

The defaults live beside the core (`bot.core.conversations`, `bot.core.locks`); `bot.scaling`
implements them on Redis for several workers; the effect handlers (`bot.actions.citizen`) carry
out what the flow asks for. The composition root (`bot.compose`) chooses which are plugged in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from channels.base import SendFailure
from intake import flow
from intake.catalog import Catalog
from intake.types import InboundMessage, Reply
from storage import UnitOfWork
from storage.models import Contact, OutboxMessage

Clock = Callable[[], datetime]
Spawn = Callable[[Coroutine[Any, Any, Any]], None]  # run a short job in the background


class ConversationStore(Protocol):
    """Where conversation state lives. `load` gives the state and an opaque version that `save`
    checks (compare-and-set: ConcurrentUpdate if someone saved in between)."""

    async def load(self, uow: UnitOfWork, key: str) -> tuple[dict[str, Any] | None, Any]: ...

    async def save(
        self,
        uow: UnitOfWork,
        key: str,
        channel: str,
        chat_id: str,
        state: dict[str, Any],
        version: Any,
        expires_at: datetime,
        *,
        now: datetime,
        inbox_id: int,
    ) -> None: ...


class ConversationLocks(Protocol):
    def hold(self, key: str) -> AbstractAsyncContextManager[None]: ...


class Dedupe(Protocol):
    """A fast duplicate check in front of the inbox: 0 unknown, 1 stored, 2 processed."""

    async def stage(self, channel: str, external_id: str) -> int: ...

    async def mark(self, channel: str, external_id: str, stage: int) -> None: ...


class RateLimit(Protocol):
    limit: int
    window: float

    async def hit(self, channel: str, sender: str) -> int:
        """Count a message; how many the sender sent in the current window, this one included."""
        ...


@dataclass
class EffectContext:
    """What an effect handler may use: the transaction, the message, its sender and the flow
    context."""

    uow: UnitOfWork
    message: InboundMessage
    contact: Contact
    flow: flow.FlowContext
    catalog: Catalog

    @property
    def now(self) -> datetime:
        return self.flow.now


# Carries out an outcome's effects inside the message's transaction: the state after them and
# every reply to queue (the outcome's own first).
ApplyEffects = Callable[
    [flow.Outcome, EffectContext], Awaitable[tuple[flow.ConversationState, list[Reply]]]
]

# Called inside the transaction after each step: (uow, state before, state after, outcome,
# message). Analytics hooks in here.
Observer = Callable[
    [
        UnitOfWork,
        "flow.ConversationState | None",
        flow.ConversationState,
        flow.Outcome,
        InboundMessage,
    ],
    Awaitable[None],
]


class InflightTracker(Protocol):
    """Records what this worker claims (so others can take it over if the worker dies): a claim
    is announced by its lease end before it is made, then its rows are counted off."""

    async def claiming(self, lease_until: datetime) -> None: ...

    async def claimed(self, lease_until: datetime, rows: list[OutboxMessage]) -> None: ...

    async def finished(self, row: OutboxMessage) -> None: ...


class Telemetry(Protocol):
    """What the core tells as it works, for `/metrics` (`bot.analytics.metrics`): counted where
    it happens, labelled only by channel and kind (never a citizen, chat or text)."""

    def message_received(self, channel: str) -> None:
        """A new message was stored in the inbox (a duplicate is not counted)."""
        ...

    def message_processed(self, channel: str, seconds: float) -> None:
        """A message was processed: `seconds` from its arrival to its replies queued."""
        ...

    def send_failed(self, channel: str, failure: SendFailure) -> None:
        """A send to the platform failed (its outcome: retry, dead, unreachable, wait)."""
        ...

    def dead_letter(self, channel: str) -> None:
        """A reply became a dead letter: it will never be sent (unless requeued)."""
        ...
