"""Is a new report the same problem as an open one? (pure)

A candidate is a duplicate when it has the same category, is near (within `NEAR_METRES` of the
new report's point, or in the same kelurahan), and its description is similar (rapidfuzz on
normalised text). The citizen is then offered to support the existing ticket instead of filing
a new one; the final word is theirs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz

from intake.normalize import normalize
from intake.types import GeoPoint

NEAR_METRES = 250.0
SIMILAR_SCORE = 60.0  # 0..100
EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True)
class ReportSketch:
    """What the comparison needs to know about a report (new or existing)."""

    ticket: str
    category_id: str | None
    description: str
    kelurahan_code: str | None = None
    point: GeoPoint | None = None


@dataclass(frozen=True)
class DuplicateMatch:
    ticket: str
    score: float  # text similarity, 0..100
    metres: float | None  # distance when both have a point


def distance_m(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance in metres (haversine)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def similarity(a: str, b: str) -> float:
    """How alike two descriptions read, 0..100, whatever the word order and chat spelling."""
    left, right = normalize(a), normalize(b)
    if not left or not right:
        return 0.0
    return (fuzz.token_set_ratio(left, right) + fuzz.token_sort_ratio(left, right)) / 2


def find_duplicates(
    new: ReportSketch,
    existing: Iterable[ReportSketch],
    *,
    near_metres: float = NEAR_METRES,
    min_score: float = SIMILAR_SCORE,
    limit: int = 3,
) -> list[DuplicateMatch]:
    """Open reports that look like `new`, most similar first."""
    found: list[DuplicateMatch] = []
    for other in existing:
        if other.ticket == new.ticket or other.category_id != new.category_id:
            continue
        metres = distance_m(new.point, other.point) if new.point and other.point else None
        near = (metres is not None and metres <= near_metres) or (
            new.kelurahan_code is not None and new.kelurahan_code == other.kelurahan_code
        )
        if not near:
            continue
        score = similarity(new.description, other.description)
        if score >= min_score:
            found.append(DuplicateMatch(other.ticket, score, metres))
    found.sort(key=lambda m: (-m.score, m.metres if m.metres is not None else math.inf))
    return found[:limit]
