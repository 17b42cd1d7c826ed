"""How fast a platform takes messages, as data: each channel package states its own limits
(`channels/telegram/limits.py`, `channels/whatsapp/limits.py`), and the dispatcher's pacing
(`bot/core/pacing.py`) keeps inside them.

A `Window` is "at most `messages` in any `seconds`" (a sliding window, so a burst of a
window's size goes out at once and the next message waits until the oldest is `seconds` old).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from intake.types import Reply


@dataclass(frozen=True)
class Window:
    messages: int
    seconds: float

    def __post_init__(self) -> None:
        if self.messages < 1 or self.seconds <= 0:
            raise ValueError(f"a window needs messages >= 1 and seconds > 0, not {self}")


def _never(chat_id: str) -> bool:
    return False


def _one(reply: Reply) -> int:
    return 1


@dataclass(frozen=True)
class SendLimits:
    """One channel's limits; None: not limited."""

    overall: Window | None = None  # everything the channel sends (one bot, one number)
    chat: Window | None = None  # to one private chat
    group: Window | None = None  # to one group chat
    is_group: Callable[[str], bool] = _never  # whether a chat id names a group
    messages: Callable[[Reply], int] = _one  # how many platform messages a reply becomes
