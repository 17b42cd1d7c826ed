"""Which platform channels run, from configuration."""

from __future__ import annotations

from bot.settings import Settings
from channels.base import ChannelSender
from channels.telegram import TelegramSender


def build_senders(settings: Settings) -> dict[str, ChannelSender]:
    senders: dict[str, ChannelSender] = {}
    telegram = settings.channels.telegram
    if telegram.enabled:
        senders["telegram"] = TelegramSender(telegram.token.get_secret_value(), telegram.api_base)
    return senders
