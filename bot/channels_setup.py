"""Which platform senders run, from configuration."""

from __future__ import annotations

from bot.settings import Settings
from channels.base import ChannelSender


def build_senders(settings: Settings) -> dict[str, ChannelSender]:
    senders: dict[str, ChannelSender] = {}
    return senders
