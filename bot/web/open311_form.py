"""Reading an Open311 POST requests form into what filing a report needs: the draft (service,
place, description, privacy), who reported and a media link. Anything a client may send is read
or refused with the spec's error (400; 404 for an unknown service), never an exception."""

from __future__ import annotations

import math
import re
from urllib.parse import parse_qsl, urlsplit

from fastapi import Request

from bot.actions.filing import Reporter
from bot.web.open311_format import Open311Error
from channels.wire import clean_text
from intake.catalog import Catalog
from intake.types import GeoPoint, PlaceMatch, ReportDraft

MAX_DESCRIPTION = 4000  # the spec's limit (the city's flow.max_description_chars may be lower)
MAX_FIELD = 200  # names, e-mail, phone, address_string
MAX_URL = 2000
MAX_FIELDS = 100  # form fields in one POST
PRIVACY = "privacy"  # the one attribute of every service (GET services/{code})
ANONYMOUS, CONFIDENTIAL = "anonim", "rahasia"
PRIVACY_WORDS = {
    ANONYMOUS: ANONYMOUS,
    "anonymous": ANONYMOUS,
    CONFIDENTIAL: CONFIDENTIAL,
    "confidential": CONFIDENTIAL,
}
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")
_PHONE = re.compile(r"\+?[0-9][0-9 .()-]{4,30}")
_ATTRIBUTE = re.compile(r"attribute\[([^\]]*)\](?:\[\])?")

Fields = dict[str, list[str]]


def refusal(catalog: Catalog, lang: str, key: str, **values: object) -> Open311Error:
    """The spec's 400 error with the catalogue's text `key` (intake/open311_texts.py)."""
    return Open311Error(400, catalog.texts.get(key, lang, variant="", **values))


def not_found(catalog: Catalog, lang: str, key: str, **values: object) -> Open311Error:
    """The spec's 404 error (an unknown service, report or jurisdiction)."""
    return Open311Error(404, catalog.texts.get(key, lang, variant="", **values))


def service_of(catalog: Catalog, code: str, lang: str) -> str:
    """The category a service_code names; 404 when there is none."""
    category = catalog.category(code)
    if category is None:
        raise not_found(catalog, lang, "open311_err_service_unknown", value=code)
    return category.id


async def read_fields(request: Request, catalog: Catalog, lang: str) -> Fields:
    """The form body's fields (each name's values in order), NUL characters removed."""
    try:
        pairs = parse_qsl(
            (await request.body()).decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FIELDS,
        )
    except ValueError:  # not UTF-8, or too many fields
        raise refusal(catalog, lang, "open311_err_body") from None
    fields: Fields = {}
    for key, value in pairs:
        fields.setdefault(clean_text(key), []).append(clean_text(value))
    return fields


class ReportForm:
    """A POST requests form, read for filing (`draft`); refusals raise Open311Error."""

    def __init__(self, fields: Fields, catalog: Catalog, lang: str) -> None:
        self.fields = fields
        self.catalog = catalog
        self.lang = lang

    def first(self, name: str) -> str:
        """The first value sent for `name` ("" when none)."""
        values = self.fields.get(name)
        return values[0] if values else ""

    def _bad(self, key: str, **values: object) -> Open311Error:
        return refusal(self.catalog, self.lang, key, **values)

    def draft(self) -> tuple[ReportDraft, Reporter, str]:
        code = self.first("service_code").strip()
        if not code:
            raise self._bad("open311_err_service_missing")
        category = service_of(self.catalog, code, self.lang)
        anonymous, confidential = self._privacy()
        place = self._place()
        description = self.first("description").strip()
        if not description:
            raise self._bad("open311_err_description")
        limit = min(MAX_DESCRIPTION, self.catalog.max_description_chars)
        if len(description) > limit:
            raise self._bad("open311_err_too_long", field="description", limit=limit)
        reporter = Reporter(
            name=" ".join(
                p
                for p in (
                    self._short("first_name"),
                    self._short("last_name"),
                )
                if p
            ),
            email=self._email(),
            phone=self._phone(),
        )
        draft = ReportDraft(
            description=description,
            category_id=category,
            place=place,
            anonymous=anonymous,
            confidential=confidential,
        )
        return draft, reporter, self._media_url()

    def _privacy(self) -> tuple[bool, bool]:
        chosen: set[str] = set()
        for key, values in self.fields.items():
            match = _ATTRIBUTE.fullmatch(key)
            if match is None:
                continue
            if match.group(1) != PRIVACY:
                raise self._bad("open311_err_attribute", code=match.group(1))
            for value in values:
                for word in (w.strip().casefold() for w in value.split(",")):
                    if not word or word in ("biasa", "none"):
                        continue
                    if word not in PRIVACY_WORDS:
                        raise self._bad("open311_err_privacy", value=word[:40])
                    chosen.add(PRIVACY_WORDS[word])
        return ANONYMOUS in chosen, CONFIDENTIAL in chosen

    def _place(self) -> PlaceMatch:
        lat, lon = self.first("lat").strip(), self.first("long").strip()
        address = self._short("address_string")
        gazetteer = self.catalog.gazetteer
        if lat or lon:
            point = _point(lat, lon)
            if point is None:
                raise self._bad("open311_err_latlong")
            if not gazetteer.contains(point):
                raise self._bad("open311_err_outside", city=self.catalog.city_name)
            found = gazetteer.locate(point) or (gazetteer.best(address) if address else None)
        elif address:
            point = None
            found = gazetteer.best(address)
        elif self.first("address_id").strip():
            raise self._bad("open311_err_address_id")
        else:
            raise self._bad("open311_err_location_missing")
        return PlaceMatch(
            kelurahan=found.kelurahan if found else None,
            kecamatan=found.kecamatan if found else None,
            code=found.code if found else None,
            point=point,
            address=address,
        )

    def _short(self, name: str) -> str:
        value = " ".join(self.first(name).split())
        if len(value) > MAX_FIELD:
            raise self._bad("open311_err_too_long", field=name, limit=MAX_FIELD)
        return value

    def _email(self) -> str:
        value = self._short("email")
        if value and not _EMAIL.fullmatch(value):
            raise self._bad("open311_err_email")
        return value

    def _phone(self) -> str:
        value = self._short("phone")
        if value and not _PHONE.fullmatch(value):
            raise self._bad("open311_err_phone")
        return value

    def _media_url(self) -> str:
        value = self.first("media_url").strip()
        if not value:
            return ""
        try:
            parts = urlsplit(value)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            ok = False
        if not ok or len(value) > MAX_URL or re.search(r"\s", value):
            raise self._bad("open311_err_media_url")
        return value


def _point(lat: str, lon: str) -> GeoPoint | None:
    try:
        point = GeoPoint(float(lat), float(lon))
    except ValueError:
        return None
    if not (math.isfinite(point.lat) and math.isfinite(point.lon)):
        return None
    if not (-90 <= point.lat <= 90 and -180 <= point.lon <= 180):
        return None
    return point
