"""Which platform channels run, from configuration."""

from __future__ import annotations

from bot.settings import Settings
from channels.base import ChannelSender
from channels.sms import SmsProvider, SmsSender
from channels.sms.android import AndroidGatewayProvider
from channels.sms.twilio import TwilioProvider
from channels.telegram import TelegramSender
from channels.whatsapp import WhatsAppSender


def build_senders(settings: Settings) -> dict[str, ChannelSender]:
    senders: dict[str, ChannelSender] = {}
    telegram = settings.channels.telegram
    if telegram.enabled:
        senders["telegram"] = TelegramSender(telegram.token.get_secret_value(), telegram.api_base)
    whatsapp = settings.channels.whatsapp
    if whatsapp.enabled:
        senders["whatsapp"] = WhatsAppSender(
            whatsapp.phone_number_id,
            whatsapp.access_token.get_secret_value(),
            graph_base=whatsapp.graph_base,
            api_version=whatsapp.api_version,
            status_template=whatsapp.status_template,
            template_language=whatsapp.template_language,
        )
    sms = settings.channels.sms
    if sms.enabled:
        provider: SmsProvider
        if sms.provider == "twilio":
            public_url = settings.service.public_url.rstrip("/")
            provider = TwilioProvider(
                sms.account_sid,
                sms.auth_token.get_secret_value(),
                sms.from_number,
                api_base=sms.api_base,
                status_callback=f"{public_url}/webhooks/sms/twilio" if public_url else None,
            )
        else:
            provider = AndroidGatewayProvider(
                sms.gateway_url, sms.username, sms.password.get_secret_value()
            )
        senders["sms"] = SmsSender(provider)
    return senders
