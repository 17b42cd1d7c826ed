"""Where a report is: GPS points and typed place names resolved against the configured areas.

`Gazetteer` is built once from the configured kelurahan and, optionally, their boundaries (a
GeoJSON FeatureCollection whose features carry `properties.code`). It answers:

- `locate(point)`: the kelurahan whose polygon contains a GPS point. Never the nearest label
  point or centroid: in Kota Madiun 7 of 27 centroids lie outside their own kelurahan.
- `contains(point)`: the city geofence.
- `search(text)` / `best(text)`: kelurahan (and kecamatan) named in free text, with typos,
  chat spellings, aliases and surrounding address words.
- `landmark(text)`: a configured landmark or street named in free text ("dpn pasar besar",
  "dkt alun2", "near the station"), with the kelurahan its point lies in.

Landmarks (`Landmark`: a name, aliases and one point) are configured per city. Their kelurahan
is the polygon their point lies in (`locate`), never the nearest label point; a landmark outside
the city is refused at build time. In `best`, a landmark named in the text answers for the
kelurahan unless the text names a kelurahan after "kel"/"kelurahan"/"desa" (the citizen knows
best). A street ("jalan ...") is one point for a line through several kelurahan: `best` never
answers from it, `search` offers its point's kelurahan as a choice, and a place named in the
same text wins over it. The words of a landmark's name are not read as
kelurahan names ("taman" in "Taman Bantaran Kali" is not Kelurahan Taman), and neither are the
city's own name words ("madiun" in "pasar besar madiun" is not Kelurahan Madiun Lor).

Geometry is computed in metres on a local equirectangular projection around the areas' mean
latitude, which is accurate to well under a metre across a city.

Boundary polygons are usually simplified, so neighbours overlap a little and leave slivers
between them. A point in an overlap goes to the kelurahan it lies deepest inside (ties, such as
a point exactly on a shared border, to the lowest code); a point in a sliver or just outside the
edge goes to the nearest polygon if that is within `BORDER_TOLERANCE_M`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from rapidfuzz import fuzz, process
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from intake.normalize import normalize
from intake.types import GeoPoint, Kelurahan

__all__ = ["Gazetteer", "Landmark", "LandmarkMatch", "PlaceSearch"]

_METRES_PER_DEGREE = 111_320.0

# Words that say which administrative level the following name is.
_KELURAHAN_MARKERS = frozenset({"kelurahan", "kalurahan", "desa"})
_KECAMATAN_MARKERS = frozenset({"kecamatan"})

# Words that say where something is relative to a landmark: "depan pasar", "dkt alun2" (chat
# abbreviations are spelled out by `normalize`), "ngarep sekolah", "near the station". They are
# never part of a landmark's name and are kept as `LandmarkMatch.relation`.
RELATION_WORDS = frozenset(
    {"depan", "dekat", "samping", "sebelah", "belakang", "seberang", "sekitar", "pinggir"}
    | {"utara", "selatan", "timur", "barat", "tengah", "dalam", "luar", "sebrang", "seberangnya"}
    | {"deket", "cedak", "cerak", "ngarep", "mburi", "sandhing", "sandinge", "wetan", "kulon"}
    | {"near", "front", "behind", "opposite", "next", "beside", "outside", "inside", "across"}
)
_FILLER_WORDS = frozenset({"di", "ke", "dari", "of", "the", "to", "in", "at", "nya", "e"})

# Prefixes of a city's official name that people leave out ("Kota Madiun" -> "madiun").
_CITY_PREFIXES = frozenset({"kota", "kabupaten", "city", "of"})
_STREET_WORDS = frozenset({"jalan", "gang", "street", "road"})


@dataclass(frozen=True)
class Landmark:
    """A public place or street people name to say where something is."""

    name: str
    lat: float
    lon: float
    aliases: tuple[str, ...] = ()

    @property
    def is_street(self) -> bool:
        """A street ("Jl. Pahlawan"): one point stands for all of it, so it counts less."""
        first = normalize(self.name).split()[:1]
        return bool(first) and first[0] in _STREET_WORDS


@dataclass(frozen=True)
class LandmarkMatch:
    """A landmark named in a text, the kelurahan its point lies in, and how it was named."""

    landmark: Landmark
    kelurahan: Kelurahan
    score: float  # 0..100
    relation: str | None = None  # "depan", "dekat", "near"... as normalised, if any

    @property
    def point(self) -> GeoPoint:
        return GeoPoint(self.landmark.lat, self.landmark.lon)


@dataclass(frozen=True)
class PlaceSearch:
    """Places named in a text: kelurahan ranked by score (0..100) and the kecamatan, if named,
    and the landmark named, if any."""

    kelurahan: list[tuple[Kelurahan, float]] = field(default_factory=list)
    kecamatan: str | None = None
    landmark: LandmarkMatch | None = None


@dataclass(frozen=True)
class _Name:
    joined: str  # normalised, without spaces: "nambanganlor"
    words: int  # in its most spaced-out spelling
    shortest_word: int  # length of its shortest word in that spelling
    kelurahan: int | None  # index into Gazetteer._areas, or None for a kecamatan name
    kecamatan: str | None


class Gazetteer:
    """The configured kelurahan of one city, searchable by GPS point and by name."""

    MATCH_CUTOFF = 80.0
    """Least score for a name to count as named: `best` answers, `kecamatan` is set."""

    LIST_CUTOFF = 70.0
    """Least score for a kelurahan to be listed by `search` (a "did you mean" menu)."""

    LIST_SPREAD = 25.0
    """`search` lists nothing scoring more than this below the best."""

    PARTIAL_PENALTY = 5.0
    """Taken off a match that lacks a whole word of the name ("madiun" for "Madiun Lor")."""

    BEST_MARGIN = 10.0
    """How far `best`'s answer must lead the next kelurahan."""

    NAME_PREFERENCE = 15.0
    """Taken off kelurahan named less clearly than the best-named one. Clearest: after
    "kel"/"kelurahan"/"desa"; then an unmarked name; last a bare name that is also a
    kecamatan's ("kartoharjo" in "klegen, kartoharjo")."""

    OTHER_KECAMATAN_PENALTY = 10.0
    """Taken off kelurahan outside a kecamatan the text names after "kec"/"kecamatan"."""

    BORDER_TOLERANCE_M = 50.0
    """A point this close to a kelurahan polygon still belongs to it (simplified boundaries,
    GPS error, slivers between neighbouring polygons)."""

    NO_BOUNDARY_PADDING_M = 1000.0
    """Without boundaries, the geofence is the label points' bounding box padded by this."""

    LANDMARK_CUTOFF = 88.0
    """Least `fuzz.ratio` between words of the text and a landmark's name or alias (joined
    without spaces): "pasar besar" ~ "psar besar", not "pasar" ~ "pasar sleko"."""

    def __init__(
        self,
        areas: Sequence[Kelurahan],
        boundaries: Mapping[str, Any] | None = None,
        *,
        landmarks: Sequence[Landmark] = (),
        city_name: str = "",
    ) -> None:
        self._areas = tuple(sorted(areas, key=lambda a: a.code))
        self._by_code = {a.code: a for a in self._areas}
        if len(self._by_code) != len(self._areas):
            raise ValueError("areas: kelurahan codes must be unique")
        lat0 = sum(a.lat for a in self._areas) / len(self._areas) if self._areas else 0.0
        self._scale = (_METRES_PER_DEGREE * math.cos(math.radians(lat0)), _METRES_PER_DEGREE)
        self._kecamatan = sorted({a.kecamatan for a in self._areas}, key=str.casefold)
        self._build_names()
        self._edges: tuple[BaseGeometry, ...] = ()
        self._tree: shapely.STRtree | None = None
        if boundaries is not None:
            self._build_polygons(boundaries)
        self._bbox = self._label_bbox()
        self._city_words = _city_words(city_name)
        self._build_landmarks(landmarks)

    # -- lookups -------------------------------------------------------------------------------

    @property
    def areas(self) -> tuple[Kelurahan, ...]:
        """All kelurahan, ordered by code."""
        return self._areas

    @property
    def has_boundaries(self) -> bool:
        return self._tree is not None

    @property
    def landmarks(self) -> tuple[tuple[Landmark, Kelurahan], ...]:
        """The configured landmarks with the kelurahan each lies in, in configured order."""
        return self._landmarks

    def by_code(self, code: str) -> Kelurahan | None:
        return self._by_code.get(code)

    def kecamatan_names(self) -> list[str]:
        """Kecamatan names, alphabetical."""
        return list(self._kecamatan)

    def in_kecamatan(self, name: str) -> list[Kelurahan]:
        """The kelurahan of a kecamatan (name compared after normalising), by name."""
        wanted = normalize(name)
        found = [a for a in self._areas if normalize(a.kecamatan) == wanted]
        return sorted(found, key=lambda a: a.kelurahan.casefold())

    # -- points --------------------------------------------------------------------------------

    def locate(self, point: GeoPoint) -> Kelurahan | None:
        """The kelurahan containing `point`; None outside the city or without boundaries."""
        if self._tree is None or not (math.isfinite(point.lat) and math.isfinite(point.lon)):
            return None
        where = Point(self._project(point))
        inside = self._tree.query(where, predicate="intersects")
        if len(inside) == 1:
            return self._areas[int(inside[0])]
        if len(inside) > 1:
            # Overlapping simplified polygons: the one the point is deepest inside.
            # Ties (a point exactly on a shared border) go to the lowest code.
            depth = shapely.distance(where, [self._edges[i] for i in inside])
            deepest = min(zip(-depth, inside, strict=True))
            return self._areas[int(deepest[1])]
        near, distance = self._tree.query_nearest(
            where, max_distance=self.BORDER_TOLERANCE_M, return_distance=True, all_matches=True
        )
        if len(near) == 0:
            return None
        nearest = min(zip(distance, near, strict=True))
        return self._areas[int(nearest[1])]

    def contains(self, point: GeoPoint) -> bool:
        """Whether `point` is in the city.

        With boundaries: exactly when `locate` finds a kelurahan (the union of the polygons,
        widened by `BORDER_TOLERANCE_M`). Without: inside the bounding box of the kelurahan label
        points padded by `NO_BOUNDARY_PADDING_M` (a rough fence; a city is rarely a rectangle).
        """
        if self._tree is not None:
            return self.locate(point) is not None
        if self._bbox is None:
            return False
        x, y = self._project(point)
        min_x, min_y, max_x, max_y = self._bbox
        return min_x <= x <= max_x and min_y <= y <= max_y

    # -- names ---------------------------------------------------------------------------------

    def search(self, text: str, limit: int = 5) -> PlaceSearch:
        """Kelurahan named in `text`, best first, and the kecamatan it names, if any.

        Listed: kelurahan scoring at least `LIST_CUTOFF` and within `LIST_SPREAD` of the best, so
        a menu can offer "Nambangan Lor / Nambangan Kidul" for "nambangan". When a place is both
        a kelurahan and a kecamatan (Taman, Kartoharjo, Manguharjo), "kec X"/"kecamatan X" reads
        X as the kecamatan only, "kel X"/"kelurahan X"/"desa X" as the kelurahan only, and a bare
        X as both (unless another kelurahan is clearly named: "klegen, kartoharjo").
        """
        words = normalize(text).split()
        found, covered = self._find_landmark(words)
        ranked, kecamatan, _ = self._rank_words(words, covered)
        if found is not None and found.landmark.is_street:
            # The street's point is one kelurahan it runs through: offered, not assumed.
            scores = {a.code: sc for a, sc in ranked}
            scores[found.kelurahan.code] = max(scores.get(found.kelurahan.code, 0.0), 80.0)
            ranked = sorted(
                ((a, scores.get(a.code, 0.0)) for a in self._areas),
                key=lambda item: (-item[1], item[0].code),
            )
        if not ranked:
            return PlaceSearch([], kecamatan, found)
        floor = max(self.LIST_CUTOFF, ranked[0][1] - self.LIST_SPREAD)
        listed = [(a, s) for a, s in ranked if s >= floor]
        return PlaceSearch(listed[: max(limit, 0)], kecamatan, found)

    def best(self, text: str) -> Kelurahan | None:
        """The kelurahan `text` names, when one clearly stands out; otherwise None.

        A kelurahan named after "kel"/"kelurahan"/"desa" comes first, then a landmark that is a
        place, then a clearly named kelurahan. A street alone answers nothing here (it runs
        through several kelurahan): `search` offers the kelurahan of its point as a choice.
        """
        words = normalize(text).split()
        found, covered = self._find_landmark(words)
        ranked, _, marked = self._rank_words(words, covered)
        clear = ranked[0][0] if self._is_clear(ranked) else None
        if clear is not None and marked:
            return clear
        if found is not None and not found.landmark.is_street:
            return found.kelurahan
        return clear

    def landmark(self, text: str) -> LandmarkMatch | None:
        """The landmark `text` names (the best-matching one), or None."""
        return self._find_landmark(normalize(text).split())[0]

    # -- internals -----------------------------------------------------------------------------

    def _project(self, point: GeoPoint) -> tuple[float, float]:
        return (point.lon * self._scale[0], point.lat * self._scale[1])

    def _build_names(self) -> None:
        # Variants that differ only in spaces are one name; it counts as many words as its most
        # spaced-out spelling ("nambanganlor" is still two words' worth).
        found: dict[tuple[str, int | None, str | None], list[str]] = {}
        for index, area in enumerate(self._areas):
            for variant in sorted({normalize(area.kelurahan), *map(normalize, area.aliases)}):
                key = (variant.replace(" ", ""), index, None)
                found[key] = max(found.get(key, []), variant.split(), key=len)
        for kecamatan in self._kecamatan:
            variant = normalize(kecamatan)
            found[(variant.replace(" ", ""), None, kecamatan)] = variant.split()
        names = [
            _Name(joined, len(words), min(map(len, words)), kelurahan, kecamatan)
            for (joined, kelurahan, kecamatan), words in found.items()
            if joined
        ]
        self._names = tuple(names)
        self._name_strings = [n.joined for n in names]
        self._exact_names = frozenset(n.joined for n in names if n.kelurahan is not None)
        self._name_lengths = np.array([len(n.joined) for n in names], dtype=np.int64)
        self._name_shortest_word = np.array([n.shortest_word for n in names], dtype=np.int64)
        self._kel_columns = [
            [c for c, n in enumerate(names) if n.kelurahan == i] for i in range(len(self._areas))
        ]
        self._kec_columns = [
            [c for c, n in enumerate(names) if n.kecamatan == k] for k in self._kecamatan
        ]
        self._max_window = max((n.words for n in names), default=1) + 1
        # Marker words are never part of a place name (unless some name contains one).
        name_words = {w for words in found.values() for w in words}
        self._kel_markers = _KELURAHAN_MARKERS - name_words
        self._kec_markers = _KECAMATAN_MARKERS - name_words
        self._markers = self._kel_markers | self._kec_markers

    def _is_clear(self, ranked: list[tuple[Kelurahan, float]]) -> bool:
        if not ranked or ranked[0][1] < self.MATCH_CUTOFF:
            return False
        return len(ranked) == 1 or ranked[0][1] - ranked[1][1] >= self.BEST_MARGIN

    def _rank(self, text: str) -> tuple[list[tuple[Kelurahan, float]], str | None]:
        """Every kelurahan with its score (best first), and the kecamatan named, if any."""
        ranked, kecamatan, _ = self._rank_words(normalize(text).split(), frozenset())
        return ranked, kecamatan

    def _rank_words(
        self, words: list[str], covered: frozenset[int]
    ) -> tuple[list[tuple[Kelurahan, float]], str | None, bool]:
        """`_rank` on normalised words, skipping the word positions in `covered` (a landmark's
        name) and spans made only of the city's own name; also whether the best kelurahan was
        named after a marker ("kel X")."""
        if not words or not self._names:
            return [], None, False
        cutoff = self.MATCH_CUTOFF
        # Every run of up to `_max_window` words, joined without spaces ("nambangan lor" and
        # "nambanganlor" alike), against every name and alias.
        spans = [
            (i, j)
            for i in range(len(words))
            for j in range(i + 1, min(i + self._max_window, len(words)) + 1)
            if not self._markers.intersection(words[i:j])
            and not covered.intersection(range(i, j))
            and not (
                self._city_words.issuperset(words[i:j])
                and "".join(words[i:j]) not in self._exact_names
            )
        ]
        if not spans:
            return [], None, False
        queries = ["".join(words[i:j]) for i, j in spans]
        scores = process.cdist(
            queries,
            self._name_strings,
            scorer=fuzz.ratio,
            dtype=np.float32,
        ).astype(np.float64)
        # A whole word of the name missing: only part of it ("madiun" for "Madiun Lor"),
        # unlike "orooroombo" or "nambanganlo" for "Oro-oro Ombo" and "Nambangan Lor".
        span_lengths = np.array([len(q) for q in queries])
        short = self._name_lengths - self._name_shortest_word
        scores -= self.PARTIAL_PENALTY * (span_lengths[:, None] <= short[None, :])
        kel = _group_max(scores, self._kel_columns)  # spans x kelurahan
        kec = _group_max(scores, self._kec_columns)  # spans x kecamatan
        before = [words[i - 1] if i > 0 else "" for i, _ in spans]
        kel_marked = np.array([w in self._kel_markers for w in before])
        kec_marked = np.array([w in self._kec_markers for w in before])
        kel_hit = kel.max(axis=1, initial=0.0) >= cutoff
        kec_hit = kec.max(axis=1, initial=0.0) >= cutoff
        kel[kec_marked & kec_hit] = 0.0  # "kec taman": not the kelurahan
        kec[kel_marked & kel_hit] = 0.0  # "kel taman": not the kecamatan
        ambiguous = ~kel_marked & ~kec_marked & kel_hit & kec_hit

        # Of the kelurahan named, prefer those after a marker, then those named unambiguously.
        hit = kel >= cutoff
        strength = np.where(kel_marked, 3, np.where(ambiguous, 1, 2))[:, None] * hit
        best_strength = strength.max(axis=0, initial=0)
        kel_score = kel.max(axis=0, initial=0.0)
        weaker = hit.any(axis=0) & (best_strength < best_strength.max(initial=0))
        kel_score[weaker] -= self.NAME_PREFERENCE

        kecamatan, explicit = self._pick_kecamatan(kec, kec_marked)
        if kecamatan is not None:
            outside = np.array([a.kecamatan != kecamatan for a in self._areas], dtype=bool)
            if explicit:
                kel_score[outside] -= self.OTHER_KECAMATAN_PENALTY
            else:
                top = int(kel_score.argmax())
                ranked = self._ranked(kel_score)
                if outside[top] and self._is_clear(ranked):
                    kecamatan = None  # "taman" was more likely a park: "dekat taman, kel klegen"
        top = int(kel_score.argmax()) if len(kel_score) else 0
        marked = bool(len(kel_score)) and bool(best_strength[top] == 3)
        return self._ranked(kel_score), kecamatan, marked

    def _ranked(self, scores: np.ndarray) -> list[tuple[Kelurahan, float]]:
        order = sorted(range(len(self._areas)), key=lambda i: (-scores[i], self._areas[i].code))
        return [(self._areas[i], round(max(float(scores[i]), 0.0), 1)) for i in order]

    def _pick_kecamatan(self, kec: np.ndarray, marked: np.ndarray) -> tuple[str | None, bool]:
        """The kecamatan named (one after "kec" first), and whether it followed "kec"."""
        for rows, explicit in ((marked, True), (np.ones_like(marked), False)):
            if rows.any() and kec.shape[1]:
                best = kec[rows].max(axis=0)
                top = int(best.argmax())
                if best[top] >= self.MATCH_CUTOFF:
                    return self._kecamatan[top], explicit
        return None, False

    def _build_landmarks(self, landmarks: Sequence[Landmark]) -> None:
        placed: list[tuple[Landmark, Kelurahan]] = []
        for landmark in landmarks:
            kelurahan = self.locate(GeoPoint(landmark.lat, landmark.lon))
            if kelurahan is None:
                where = "outside the city" if self.has_boundaries else "without boundaries"
                raise ValueError(
                    f"landmark {landmark.name!r} ({landmark.lat}, {landmark.lon}) lies {where}: "
                    "its kelurahan comes from the boundary polygons"
                )
            placed.append((landmark, kelurahan))
        self._landmarks = tuple(placed)
        variants: list[tuple[str, int, int]] = []  # (joined, landmark index, words)
        for index, (landmark, _) in enumerate(placed):
            for spelling in {normalize(landmark.name), *map(normalize, landmark.aliases)}:
                words = [w for w in spelling.split() if w not in RELATION_WORDS]
                if words:
                    variants.append(("".join(words), index, len(words)))
        variants.sort()
        self._landmark_strings = [v[0] for v in variants]
        self._landmark_index = [v[1] for v in variants]
        self._landmark_street = np.array([placed[v[1]][0].is_street for v in variants], dtype=bool)
        self._landmark_window = max((v[2] for v in variants), default=0) + 1

    def _find_landmark(self, words: list[str]) -> tuple[LandmarkMatch | None, frozenset[int]]:
        """The best landmark named in `words` and the word positions its name covers."""
        if not self._landmark_strings or not words:
            return None, frozenset()
        spans = [
            (i, j)
            for i in range(len(words))
            for j in range(i + 1, min(i + self._landmark_window, len(words)) + 1)
            if not RELATION_WORDS.intersection(words[i:j])
            and words[i] not in _FILLER_WORDS
            and words[j - 1] not in _FILLER_WORDS
        ]
        if not spans:
            return None, frozenset()
        queries = ["".join(words[i:j]) for i, j in spans]
        scores = process.cdist(
            queries, self._landmark_strings, scorer=fuzz.ratio, dtype=np.float32
        ).astype(np.float64)
        # A place named beats a street named ("jl pahlawan depan psc": Pahlawan Street Center);
        # ties go to the match covering more words ("pasar besar" over "besar" alone).
        sizes = np.array([j - i for i, j in spans], dtype=np.float64)
        ranked = scores + 0.01 * sizes[:, None]
        places = np.where(self._landmark_street[None, :], -1.0, ranked)
        if places.max() >= self.LANDMARK_CUTOFF:
            ranked = places
        best = np.unravel_index(int(np.argmax(ranked)), ranked.shape)
        row, column = int(best[0]), int(best[1])
        score = float(scores[row, column])
        if score < self.LANDMARK_CUTOFF:
            return None, frozenset()
        i, j = spans[row]
        landmark, kelurahan = self._landmarks[self._landmark_index[column]]
        relation = next(
            (w for w in reversed(words[max(0, i - 3) : i]) if w in RELATION_WORDS), None
        )
        match = LandmarkMatch(landmark, kelurahan, round(score, 1), relation)
        return match, frozenset(range(i, j))

    def _build_polygons(self, boundaries: Mapping[str, Any]) -> None:
        found: dict[str, BaseGeometry] = {}
        for feature in boundaries.get("features") or ():
            code = str((feature.get("properties") or {}).get("code", ""))
            if code not in self._by_code or not feature.get("geometry"):
                continue
            geometry = _polygonal(shape(feature["geometry"]))
            if geometry is None:
                raise ValueError(f"boundaries: the geometry of {code} is not a polygon")
            found[code] = geometry.union(found[code]) if code in found else geometry
        missing = [a.code for a in self._areas if a.code not in found]
        if missing:
            raise ValueError(f"boundaries: no polygon for kelurahan code(s) {', '.join(missing)}")
        scale = np.array(self._scale)
        polygons = tuple(
            shapely.transform(found[a.code], lambda xy: xy * scale) for a in self._areas
        )
        self._edges = tuple(p.boundary for p in polygons)
        self._tree = shapely.STRtree(polygons)

    def _label_bbox(self) -> tuple[float, float, float, float] | None:
        if not self._areas:
            return None
        xy = [self._project(GeoPoint(a.lat, a.lon)) for a in self._areas]
        pad = self.NO_BOUNDARY_PADDING_M
        return (
            min(x for x, _ in xy) - pad,
            min(y for _, y in xy) - pad,
            max(x for x, _ in xy) + pad,
            max(y for _, y in xy) + pad,
        )


def _city_words(city_name: str) -> frozenset[str]:
    """The words of the city's own name, with and without "Kota"/"Kabupaten" ("Kota Madiun" ->
    {"kota", "madiun"}): a text span made only of these never names a kelurahan."""
    words = normalize(city_name).split()
    if not [w for w in words if w not in _CITY_PREFIXES]:
        return frozenset()
    return frozenset(words) | _CITY_PREFIXES.intersection(words)


def _group_max(scores: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """For each group of columns, the row-wise maximum (rows x groups)."""
    out = np.zeros((scores.shape[0], len(groups)), dtype=np.float64)
    for g, columns in enumerate(groups):
        if columns:
            out[:, g] = scores[:, columns].max(axis=1)
    return out


def _polygonal(geometry: BaseGeometry) -> BaseGeometry | None:
    """The polygonal part of a (possibly invalid) geometry, or None if it has none."""
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    parts = [p for p in shapely.get_parts(geometry) if isinstance(p, Polygon | MultiPolygon)]
    if not parts:
        return None
    merged: BaseGeometry = shapely.union_all(parts)
    return None if merged.is_empty else merged
