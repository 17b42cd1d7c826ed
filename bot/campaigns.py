"""The ways in that each `[[campaigns]]` entry hands out, built from the configuration (no I/O):
a Telegram deep link, a WhatsApp link with the campaign's prefilled text, the SMS keyword and
the web chat address. What `lapor campaigns` prints and turns into QR codes; the bot recognises
them in intake.campaigns. A link whose platform detail is not configured (the bot's username,
the WhatsApp number) is not invented: `problem` says what to set instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings
from channels.sms.links import number as sms_number
from channels.sms.links import smsto
from channels.telegram.links import deep_link
from channels.web.links import chat_link
from channels.whatsapp.links import click_to_chat
from intake.campaigns import Campaign, prefilled_text

CHANNELS = ("telegram", "whatsapp", "sms", "web")


@dataclass(frozen=True)
class CampaignLink:
    campaign: Campaign
    channel: str  # one of CHANNELS
    link: str = ""  # what a poster prints: a URL, or for SMS "LAPOR PASAR ke +62..."
    qr: str = ""  # what its QR code holds ("" = no code: the link is incomplete)
    problem: str = ""  # why the link is missing or incomplete ("" = none)
    enabled: bool = True  # whether the service has this channel on

    @property
    def file_stem(self) -> str:
        return f"{self.campaign.id}-{self.channel}"


def campaign_links(settings: Settings) -> list[CampaignLink]:
    """Every campaign's links, in the configuration's order, channel by channel."""
    out: list[CampaignLink] = []
    for campaign in settings.domain_campaigns():
        out += [
            _telegram(settings, campaign),
            _whatsapp(settings, campaign),
            _sms(settings, campaign),
            _web(settings, campaign),
        ]
    return out


def _telegram(settings: Settings, campaign: Campaign) -> CampaignLink:
    config = settings.channels.telegram
    if not config.bot_username:
        return CampaignLink(
            campaign,
            "telegram",
            problem="bot username unknown: set channels.telegram.bot_username",
            enabled=config.enabled,
        )
    url = deep_link(config.bot_username, campaign.id)
    return CampaignLink(campaign, "telegram", url, url, enabled=config.enabled)


def _whatsapp(settings: Settings, campaign: Campaign) -> CampaignLink:
    config = settings.channels.whatsapp
    if not config.display_number:
        return CampaignLink(
            campaign,
            "whatsapp",
            problem="number unknown: set channels.whatsapp.display_number",
            enabled=config.enabled,
        )
    url = click_to_chat(config.display_number, prefilled_text(campaign))
    return CampaignLink(campaign, "whatsapp", url, url, enabled=config.enabled)


def _sms(settings: Settings, campaign: Campaign) -> CampaignLink:
    config = settings.channels.sms
    if not campaign.keyword:
        return CampaignLink(campaign, "sms", problem="no keyword", enabled=config.enabled)
    number = config.display_number or (
        config.from_number if config.from_number.startswith("+") else ""
    )
    if not number:
        return CampaignLink(
            campaign,
            "sms",
            f"{campaign.keyword}",
            problem="number unknown: set channels.sms.display_number",
            enabled=config.enabled,
        )
    text = f'send "{campaign.keyword}" to {sms_number(number)}'
    return CampaignLink(
        campaign, "sms", text, smsto(number, campaign.keyword + " "), enabled=config.enabled
    )


def _web(settings: Settings, campaign: Campaign) -> CampaignLink:
    enabled = settings.channels.web.enabled
    if not settings.service.public_url:
        return CampaignLink(
            campaign,
            "web",
            chat_link("", campaign.id),
            problem="service.public_url unset: the address is relative",
            enabled=enabled,
        )
    url = chat_link(settings.service.public_url, campaign.id)
    return CampaignLink(campaign, "web", url, url, enabled=enabled)
