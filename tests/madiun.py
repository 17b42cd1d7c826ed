"""The Kota Madiun example configuration as intake objects, for tests and benchmarks.

Reads `config.example.toml` and the boundaries file it names, straight from the repository
(no dependency on bot/settings.py). Tests import it as `madiun` (pytest puts tests/ on
sys.path); bench/ scripts add the repository root to sys.path and import `tests.madiun`.
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

from intake.catalog import Catalog
from intake.places import Landmark
from intake.types import Agency, Category, Kelurahan

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.example.toml"


@cache
def config() -> dict[str, Any]:
    with CONFIG.open("rb") as f:
        return tomllib.load(f)


def categories() -> list[Category]:
    return [
        Category(
            id=c["id"],
            name=c["name"],
            name_en=c.get("name_en", ""),
            agency=c["agency"],
            keywords=tuple(c.get("keywords", ())),
        )
        for c in config()["categories"]
    ]


def areas() -> list[Kelurahan]:
    return [
        Kelurahan(
            kelurahan=a["kelurahan"],
            kecamatan=a["kecamatan"],
            code=a["code"],
            lat=float(a["lat"]),
            lon=float(a["lon"]),
            aliases=tuple(a.get("aliases", ())),
        )
        for a in config()["areas"]
    ]


def landmarks() -> list[Landmark]:
    return [
        Landmark(m["name"], float(m["lat"]), float(m["lon"]), tuple(m.get("aliases", ())))
        for m in config().get("landmarks", ())
    ]


def city_name() -> str:
    return str(config()["places"].get("city_name", ""))


@cache
def _boundaries_text() -> str:
    path = CONFIG.parent / config()["places"]["boundaries"]
    return path.read_text(encoding="utf-8")


def boundaries() -> dict[str, Any]:
    """The parsed GeoJSON FeatureCollection (a fresh copy each call)."""
    data: dict[str, Any] = json.loads(_boundaries_text())
    return data


@cache
def catalog(tz: tzinfo = UTC) -> Catalog:
    """Kota Madiun's catalog (categories, agencies, places, ticket prefix MDN) in time zone `tz`."""
    agencies = [Agency(a["id"], a["name"]) for a in config()["agencies"]]
    return Catalog.build(
        city_name="Kota Madiun",
        categories=categories(),
        agencies=agencies,
        areas=areas(),
        boundaries=boundaries(),
        ticket_prefix="MDN",
        tz=tz,
    )
