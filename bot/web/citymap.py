"""The city's kelurahan as SVG geometry, for the maps of the dashboard and the public page.

Drawn from the `places.boundaries` GeoJSON of the configuration (dots at the areas' coordinates
when there is none), projected equirectangularly around the city's mean latitude onto a square
of about 600 units; `CityMap.project` puts any other point (a report's) on the same drawing.
Nothing is fetched: no tiles, no CDN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.settings import Settings, load_boundaries

SIZE, PAD = 600.0, 12.0


@dataclass(frozen=True)
class MapShape:
    code: str
    name: str
    path: str  # SVG path data ("" for a dot)
    x: float  # label point
    y: float


@dataclass(frozen=True)
class CityMap:
    width: float
    height: float
    shapes: tuple[MapShape, ...]
    # the projection: x = pad + (lon * kx - min_x) * scale, y = pad + (-lat - min_y) * scale
    kx: float = 1.0
    min_x: float = 0.0
    min_y: float = 0.0
    scale: float = 1.0

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        return (
            PAD + (lon * self.kx - self.min_x) * self.scale,
            PAD + (-lat - self.min_y) * self.scale,
        )

    def shape(self, code: str | None) -> MapShape | None:
        return next((s for s in self.shapes if s.code == code), None) if code else None


_MAPS: dict[tuple[str, float], CityMap] = {}


def city_map(settings: Settings) -> CityMap:
    """Kelurahan outlines as SVG paths, cached per configuration and boundaries file."""
    path = settings.boundaries_path()
    stamp = path.stat().st_mtime if path is not None and path.exists() else 0.0
    key = (settings.model_dump_json(include={"areas", "places"}), stamp)
    if key not in _MAPS:
        if len(_MAPS) > 4:
            _MAPS.clear()
        _MAPS[key] = _build_map(settings)
    return _MAPS[key]


def _build_map(settings: Settings) -> CityMap:
    names = {a.code: a.kelurahan for a in settings.areas}
    boundaries = load_boundaries(settings)
    rings: list[tuple[str, list[list[tuple[float, float]]]]] = []
    if boundaries:
        for feature in boundaries.get("features", []):
            code = str(feature.get("properties", {}).get("code", ""))
            geometry = feature.get("geometry") or {}
            polygons = (
                [geometry.get("coordinates", [])]
                if geometry.get("type") == "Polygon"
                else geometry.get("coordinates", [])
            )
            outline = [
                [(float(p[0]), float(p[1])) for p in ring]
                for polygon in polygons
                for ring in polygon
            ]
            if code in names and outline:
                rings.append((code, outline))
    points = [p for _, outline in rings for ring in outline for p in ring] or [
        (a.lon, a.lat) for a in settings.areas
    ]
    if not points:
        return CityMap(0, 0, ())
    lat0 = sum(lat for _, lat in points) / len(points)
    kx = math.cos(math.radians(lat0))
    xs = [lon * kx for lon, _ in points]
    ys = [-lat for _, lat in points]
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    span = max(max_x - min_x, max_y - min_y) or 1e-3
    scale = (SIZE - 2 * PAD) / span
    frame = CityMap(
        2 * PAD + (max_x - min_x) * scale,
        2 * PAD + (max_y - min_y) * scale,
        (),
        kx=kx,
        min_x=min_x,
        min_y=min_y,
        scale=scale,
    )
    shapes = []
    if rings:
        labels = {a.code: (a.lon, a.lat) for a in settings.areas}
        for feature in (boundaries or {}).get("features", []):
            props = feature.get("properties", {})
            code = str(props.get("code", ""))
            if "label_lon" in props and "label_lat" in props:
                labels[code] = (float(props["label_lon"]), float(props["label_lat"]))
        for code, outline in rings:
            d = " ".join(
                "M"
                + " L".join(f"{x:.1f},{y:.1f}" for x, y in (frame.project(*p) for p in ring))
                + " Z"
                for ring in outline
            )
            lx, ly = frame.project(*labels.get(code, outline[0][0]))
            shapes.append(MapShape(code, names[code], d, lx, ly))
    else:
        for area in settings.areas:
            x, y = frame.project(area.lon, area.lat)
            shapes.append(MapShape(area.code, area.kelurahan, "", x, y))
    return CityMap(
        frame.width,
        frame.height,
        tuple(shapes),
        kx=kx,
        min_x=min_x,
        min_y=min_y,
        scale=scale,
    )
