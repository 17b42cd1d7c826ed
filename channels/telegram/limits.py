"""Telegram's sending limits (Bot API FAQ, "My bot is hitting limits"): about 30 messages per
second overall and 20 per minute in one group (channels too). About one per second in one
private chat is advised, but short bursts are tolerated there, so private chats are not paced
by default (as python-telegram-bot's own limiter does): a step of a conversation that answers
with three messages must not take three seconds. `[delivery.telegram] chat` paces them.
Telegram does not publish exact figures; a 429 answer's `retry_after` is obeyed as well
(`client.classify_error`).
"""

from __future__ import annotations

from channels.base import SendError
from channels.limits import SendLimits, Window
from intake.types import Reply


def is_group(chat_id: str) -> bool:
    """Groups, supergroups and channels have negative ids (or a public @username)."""
    return chat_id.startswith(("-", "@"))


def messages(reply: Reply) -> int:
    """The messages `reply` becomes: one per call, one per item of an album."""
    from channels.telegram.render import SendMediaGroup, render  # (python-telegram-bot types)

    try:
        calls = render(reply)
    except SendError:
        return 1  # it will not be sent at all (dead); one is as good as any
    return sum(len(call.media) if isinstance(call, SendMediaGroup) else 1 for call in calls)


LIMITS = SendLimits(
    overall=Window(30, 1.0),
    group=Window(20, 60.0),
    is_group=is_group,
    messages=messages,
)
