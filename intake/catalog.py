"""Everything the flow needs to know about one city, built once at start-up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, timedelta, tzinfo
from typing import Any

from intake.campaigns import Campaign
from intake.categories import CategorySuggester
from intake.classifier import CategoryModel
from intake.places import Gazetteer, Landmark
from intake.texts import Texts
from intake.types import Agency, Category, Kelurahan


@dataclass(frozen=True)
class Catalog:
    city_name: str
    categories: tuple[Category, ...]
    agencies: Mapping[str, Agency]
    suggester: CategorySuggester
    gazetteer: Gazetteer
    texts: Texts
    ticket_prefix: str
    default_language: str = "id"
    conversation_timeout: timedelta = timedelta(hours=2)
    max_photos: int = 5
    max_description_chars: int = 2000
    verify_days: int = 3
    tz: tzinfo = UTC
    officers_chat_id: str | None = None  # officers' group for agencies without their own
    campaigns: tuple[Campaign, ...] = ()  # socialisation campaigns (intake.campaigns)
    _by_id: Mapping[str, Category] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls,
        *,
        city_name: str,
        categories: Sequence[Category],
        agencies: Sequence[Agency],
        areas: Sequence[Kelurahan],
        boundaries: dict[str, Any] | None,
        ticket_prefix: str,
        text_overrides: Mapping[str, Mapping[str, str]] | None = None,
        category_model: CategoryModel | None = None,
        landmarks: Sequence[Landmark] = (),
        **options: Any,
    ) -> Catalog:
        return cls(
            city_name=city_name,
            categories=tuple(categories),
            agencies={a.id: a for a in agencies},
            suggester=CategorySuggester(categories, model=category_model),
            gazetteer=Gazetteer(areas, boundaries, landmarks=landmarks, city_name=city_name),
            texts=Texts(text_overrides),
            ticket_prefix=ticket_prefix,
            _by_id={c.id: c for c in categories},
            **options,
        )

    def category(self, category_id: str | None) -> Category | None:
        return self._by_id.get(category_id) if category_id else None

    def category_name(self, category_id: str | None, lang: str) -> str:
        category = self.category(category_id)
        if category is None:
            return category_id or "-"
        return category.name_en if lang == "en" and category.name_en else category.name

    def officers_chat(self, agency_id: str | None) -> str | None:
        """The Telegram group that gets the agency's reports (its own, else the default)."""
        agency = self.agencies.get(agency_id) if agency_id else None
        return (agency.telegram_chat_id if agency else None) or self.officers_chat_id

    def agency_name(self, agency_id: str | None) -> str:
        agency = self.agencies.get(agency_id) if agency_id else None
        return agency.name if agency else (agency_id or "-")
