"""Pacing: keep each channel's sends inside the platform's limits, one destination at a time.

For every channel with `SendLimits` the pacer keeps sliding windows: one for the whole channel
and one per destination (a group chat or a private chat, each with its channel's window). The
dispatcher asks it which channels and chats are full (`held`) and claims only rows for the
others, so a burst to one officers' group waits its turn while every other chat goes on (no
head-of-line blocking); a row it claimed anyway (a window filled meanwhile) goes back to
pending unchanged. Nothing is dropped or counted as a failed attempt: a held row stays pending
and due, and goes out when its window has room (`next_free` says when to look again).

The windows live in this process: with several workers each keeps its own, and a platform's
429 (`retry_after`) still guards the rest.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from bot.settings import ChannelPacing, DeliveryConfig, PaceConfig
from channels.limits import SendLimits, Window
from intake.types import Reply

PRUNE_EVERY = 1000  # takes between sweeps of idle destinations


class SlidingWindow:
    """At most `window.messages` sends in any `window.seconds`: the times of the last sends."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self.times: deque[float] = deque()

    def _forget(self, now: float) -> None:
        while self.times and self.times[0] <= now - self.window.seconds:
            self.times.popleft()

    def free_at(self, now: float, cost: int) -> float:
        """When `cost` more messages fit (`now` if they fit now). A cost above the window's
        size waits for an empty window."""
        self._forget(now)
        cost = min(cost, self.window.messages)
        over = len(self.times) + cost - self.window.messages
        if over <= 0:
            return now
        return self.times[over - 1] + self.window.seconds

    def take(self, now: float, cost: int) -> None:
        self.times.extend([now] * min(cost, self.window.messages))

    def idle(self, now: float) -> bool:
        self._forget(now)
        return not self.times


@dataclass
class _Channel:
    limits: SendLimits
    overall: SlidingWindow | None
    chats: dict[str, SlidingWindow] = field(default_factory=dict)


@dataclass(frozen=True)
class Held:
    """What not to claim now: whole channels, and chats per channel."""

    channels: frozenset[str]
    chats: dict[str, list[str]]


class Pacer:
    def __init__(
        self, limits: Mapping[str, SendLimits], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.clock = clock
        self._channels = {
            name: _Channel(lim, SlidingWindow(lim.overall) if lim.overall else None)
            for name, lim in limits.items()
        }
        # Full until the given time: channel names, and (channel, chat id) pairs.
        self._full_channels: dict[str, float] = {}
        self._full_chats: dict[tuple[str, str], float] = {}
        self._takes = 0

    def limits(self, channel: str) -> SendLimits | None:
        state = self._channels.get(channel)
        return state.limits if state else None

    def held(self) -> Held:
        now = self.clock()
        for name in [k for k, until in self._full_channels.items() if until <= now]:
            del self._full_channels[name]
        for pair in [k for k, until in self._full_chats.items() if until <= now]:
            del self._full_chats[pair]
        chats: dict[str, list[str]] = {}
        for channel, chat_id in self._full_chats:
            chats.setdefault(channel, []).append(chat_id)
        return Held(frozenset(self._full_channels), chats)

    def next_free(self) -> float | None:
        """The earliest time something held now gets room (None: nothing is held)."""
        times = [*self._full_channels.values(), *self._full_chats.values()]
        return min(times) if times else None

    def take(self, channel: str, chat_id: str, reply: Reply | None) -> bool:
        """Whether `reply` to `chat_id` may go now; if so its messages are counted. If not,
        the full window is held until it has room for them."""
        state = self._channels.get(channel)
        if state is None:
            return True
        now = self.clock()
        cost = max(1, state.limits.messages(reply)) if reply is not None else 1
        chat = self._chat_window(state, chat_id)
        chat_free = chat.free_at(now, cost) if chat else now
        overall_free = state.overall.free_at(now, cost) if state.overall else now
        if chat is not None and chat_free > now:
            self._full_chats[(channel, chat_id)] = chat_free
        if overall_free > now:
            self._full_channels[channel] = overall_free
        if chat_free > now or overall_free > now:
            return False
        for window in (chat, state.overall):
            if window is not None:
                window.take(now, cost)
                if (free := window.free_at(now, 1)) > now:  # full now: hold the next one
                    if window is chat:
                        self._full_chats[(channel, chat_id)] = free
                    else:
                        self._full_channels[channel] = free
        self._takes += 1
        if self._takes % PRUNE_EVERY == 0:
            self._prune(now)
        return True

    def _chat_window(self, state: _Channel, chat_id: str) -> SlidingWindow | None:
        window = state.chats.get(chat_id)
        if window is None:
            limits = state.limits
            spec = limits.group if limits.is_group(chat_id) else limits.chat
            if spec is None:
                return None
            window = state.chats[chat_id] = SlidingWindow(spec)
        return window

    def _prune(self, now: float) -> None:
        """Forget destinations that sent nothing within their window (memory stays bounded)."""
        for state in self._channels.values():
            for chat_id in [c for c, w in state.chats.items() if w.idle(now)]:
                del state.chats[chat_id]


def configured(
    platforms: Mapping[str, SendLimits], delivery: DeliveryConfig
) -> dict[str, SendLimits]:
    """The platforms' limits with the `[delivery.<channel>]` overrides applied."""

    def window(given: PaceConfig | None, default: Window | None) -> Window | None:
        if given is None:
            return default
        return Window(given.messages, given.seconds) if given.messages else None

    limits = dict(platforms)
    for name, own in delivery:
        assert isinstance(own, ChannelPacing)
        base = limits.get(name, SendLimits())
        limits[name] = replace(
            base,
            overall=window(own.overall, base.overall),
            chat=window(own.chat, base.chat),
            group=window(own.group, base.group),
        )
    return limits
