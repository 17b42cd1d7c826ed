"""The city as the flow sees it, built from configuration once at start-up."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.settings import Settings, load_boundaries
from intake.catalog import Catalog


def build_catalog(settings: Settings) -> Catalog:
    return Catalog.build(
        city_name=settings.places.city_name,
        categories=settings.domain_categories(),
        agencies=settings.domain_agencies(),
        areas=settings.domain_areas(),
        boundaries=load_boundaries(settings),
        ticket_prefix=settings.service.ticket_prefix,
        text_overrides=settings.texts,
        default_language=settings.service.default_language,
        conversation_timeout=timedelta(minutes=settings.flow.conversation_timeout_minutes),
        max_photos=settings.flow.max_photos,
        max_description_chars=settings.flow.max_description_chars,
        verify_days=settings.sla.verify_days,
        officers_chat_id=settings.officers.default_chat_id or None,
        tz=ZoneInfo(settings.service.timezone),
    )
