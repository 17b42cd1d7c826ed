"""Telegram deep links: t.me/<bot>?start=<parameter> opens the bot, and its Start button sends
"/start <parameter>" (1-64 characters of A-Z, a-z, 0-9, _ and -)."""

from __future__ import annotations

import re

START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")


def deep_link(bot_username: str, start: str) -> str:
    """`https://t.me/<username>?start=<start>`; ValueError for a parameter Telegram refuses."""
    if not START_PARAMETER.fullmatch(start):
        raise ValueError(f"{start!r} is not a Telegram start parameter")
    return f"https://t.me/{bot_username.lstrip('@')}?start={start}"
