from __future__ import annotations

from pathlib import Path

import madiun
import pytest
from app_server import ConsoleCitizen, make_service, serve
from shapely.geometry import Point, Polygon, shape
from shapely.ops import unary_union

from bot.compose import create_app
from intake.places import Gazetteer, Landmark
from intake.types import GeoPoint, Kelurahan

AREAS = madiun.areas()


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer(AREAS, madiun.boundaries())


def _shapes() -> dict[str, Polygon]:
    return {f["properties"]["code"]: shape(f["geometry"]) for f in madiun.boundaries()["features"]}


# -- GPS points ------------------------------------------------------------------------------


@pytest.mark.parametrize("area", AREAS, ids=lambda a: a.kelurahan)
def test_every_label_point_is_in_its_own_kelurahan(gazetteer: Gazetteer, area: Kelurahan) -> None:
    point = GeoPoint(area.lat, area.lon)
    assert gazetteer.locate(point) == area
    assert gazetteer.contains(point)


@pytest.mark.parametrize(
    "point",
    [
        GeoPoint(-6.2, 106.8),  # Jakarta
        GeoPoint(-7.62, 111.575),  # about 1.8 km east of the city, Kabupaten Madiun
        GeoPoint(-7.695, 111.53),  # about 1.6 km south of the city
        GeoPoint(-7.6262, 111.4900),  # west, across the Bengawan Madiun river
    ],
)
def test_points_outside_the_city(gazetteer: Gazetteer, point: GeoPoint) -> None:
    assert gazetteer.locate(point) is None
    assert not gazetteer.contains(point)


def test_a_detached_part_belongs_to_its_kelurahan_not_to_the_nearest_label(
    gazetteer: Gazetteer,
) -> None:
    # Josenan has a small part about 2 km from the rest of it.
    josenan = gazetteer.by_code("35.77.03.1007")
    assert josenan is not None
    part = min(_shapes()[josenan.code].geoms, key=lambda p: p.area).representative_point()
    point = GeoPoint(part.y, part.x)
    nearest_label = min(AREAS, key=lambda a: (a.lat - point.lat) ** 2 + (a.lon - point.lon) ** 2)
    assert nearest_label != josenan
    assert gazetteer.locate(point) == josenan


def test_slivers_between_simplified_polygons_are_inside_the_city(gazetteer: Gazetteer) -> None:
    city = unary_union(list(_shapes().values()))
    main = max(city.geoms, key=lambda p: p.area)
    assert main.interiors, "the simplified polygons leave small gaps between neighbours"
    for ring in main.interiors:
        gap = Polygon(ring).representative_point()
        point = GeoPoint(gap.y, gap.x)
        assert gazetteer.contains(point)
        assert gazetteer.locate(point) is not None


def test_a_point_on_a_shared_border_is_resolved_the_same_way_every_time() -> None:
    shapes = _shapes()
    # A vertex that two kelurahan polygons share.
    seen: dict[tuple[float, float], str] = {}
    shared: tuple[tuple[float, float], set[str]] | None = None
    for code, geometry in shapes.items():
        parts = getattr(geometry, "geoms", [geometry])
        for part in parts:
            for xy in part.exterior.coords:
                if xy in seen and seen[xy] != code:
                    shared = (xy, {seen[xy], code})
                seen.setdefault(xy, code)
    assert shared is not None
    (lon, lat), codes = shared
    point = GeoPoint(lat, lon)
    forward = Gazetteer(AREAS, madiun.boundaries()).locate(point)
    backward = Gazetteer(list(reversed(AREAS)), madiun.boundaries()).locate(point)
    assert forward is not None and forward.code in codes
    assert forward == backward


def test_without_boundaries_the_fence_is_the_padded_box_of_the_label_points() -> None:
    gazetteer = Gazetteer(AREAS, None)
    assert not gazetteer.has_boundaries
    centre = GeoPoint(-7.63, 111.525)
    assert gazetteer.locate(centre) is None  # no polygons, no guessing
    assert gazetteer.contains(centre)
    assert all(gazetteer.contains(GeoPoint(a.lat, a.lon)) for a in AREAS)
    assert not gazetteer.contains(GeoPoint(-6.2, 106.8))
    assert not gazetteer.contains(GeoPoint(-7.63, 111.60))


def test_boundaries_must_cover_every_kelurahan() -> None:
    boundaries = madiun.boundaries()
    boundaries["features"] = boundaries["features"][1:]
    with pytest.raises(ValueError, match="35.77.01.1001"):
        Gazetteer(AREAS, boundaries)


# -- typed names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kelurahan"),
    [
        ("manguharja", "Manguharjo"),
        ("Kel. Nambangan Lor", "Nambangan Lor"),
        ("nambangan lor", "Nambangan Lor"),
        ("Nambangan Kidul", "Nambangan Kidul"),
        ("oro2 ombo", "Oro-oro Ombo"),
        ("orooroombo", "Oro-oro Ombo"),
        ("Oro-Oro Ombo", "Oro-oro Ombo"),
        ("kartoharjoo", "Kartoharjo"),
        ("pilang bango", "Pilangbango"),
        ("jl. pahlawan no 5 dekat alun2, kel. pangongangan", "Pangongangan"),
        ("RT 3 RW 2 Demangan", "Demangan"),
        ("klegen, kartoharjo", "Klegen"),  # kelurahan, kecamatan
        ("dekat taman, kel. klegen", "Klegen"),  # "taman" is a park here
    ],
)
def test_typed_kelurahan(gazetteer: Gazetteer, text: str, kelurahan: str) -> None:
    found = gazetteer.best(text)
    assert found is not None, gazetteer.search(text)
    assert found.kelurahan == kelurahan
    assert gazetteer.search(text).kelurahan[0][0] == found


@pytest.mark.parametrize(
    "text", ["jakarta selatan", "asdfgh", "surabaya", "magetan", "jalan rusak depan rumah", ""]
)
def test_unknown_places(gazetteer: Gazetteer, text: str) -> None:
    result = gazetteer.search(text)
    assert all(score < gazetteer.MATCH_CUTOFF for _, score in result.kelurahan)
    assert result.kecamatan is None
    assert gazetteer.best(text) is None


def test_the_city_name_is_not_a_kelurahan(gazetteer: Gazetteer) -> None:
    assert gazetteer.best("Jl. Diponegoro, Kota Madiun") is None  # not Madiun Lor


def test_half_a_name_offers_both_but_picks_neither(gazetteer: Gazetteer) -> None:
    result = gazetteer.search("nambangan")
    assert {a.kelurahan for a, _ in result.kelurahan[:2]} == {"Nambangan Lor", "Nambangan Kidul"}
    assert gazetteer.best("nambangan") is None


def test_kecamatan_after_kec_is_read_as_a_kecamatan(gazetteer: Gazetteer) -> None:
    result = gazetteer.search("kec taman")
    assert result.kecamatan == "Taman"
    assert "Taman" not in [a.kelurahan for a, _ in result.kelurahan]
    assert gazetteer.best("kec taman") is None
    assert gazetteer.search("Kecamatan Manguharjo").kecamatan == "Manguharjo"


def test_name_after_kel_is_read_as_a_kelurahan(gazetteer: Gazetteer) -> None:
    result = gazetteer.search("kel. taman")
    assert result.kecamatan is None
    assert result.kelurahan[0][0].kelurahan == "Taman"
    assert gazetteer.search("desa kartoharjo").kecamatan is None


def test_a_bare_name_of_both_gives_both_readings(gazetteer: Gazetteer) -> None:
    result = gazetteer.search("manguharjo")
    assert result.kecamatan == "Manguharjo"
    assert result.kelurahan[0][0].kelurahan == "Manguharjo"


def test_kelurahan_and_kecamatan_together(gazetteer: Gazetteer) -> None:
    result = gazetteer.search("kel. klegen kec. kartoharjo")
    assert result.kecamatan == "Kartoharjo"
    assert [a.kelurahan for a, _ in result.kelurahan] == ["Klegen"]


def test_search_is_ranked_and_limited(gazetteer: Gazetteer) -> None:
    result = gazetteer.search("nambangan", limit=1)
    assert len(result.kelurahan) == 1
    scores = [s for _, s in gazetteer.search("nambangan").kelurahan]
    assert scores == sorted(scores, reverse=True)


# -- menus -----------------------------------------------------------------------------------


def test_menus(gazetteer: Gazetteer) -> None:
    assert gazetteer.kecamatan_names() == ["Kartoharjo", "Manguharjo", "Taman"]
    taman = gazetteer.in_kecamatan("Taman")
    assert [a.kelurahan for a in taman] == sorted(a.kelurahan for a in taman)
    assert len(taman) == 9 and all(a.kecamatan == "Taman" for a in taman)
    assert gazetteer.in_kecamatan("TAMAN") == taman
    assert gazetteer.in_kecamatan("Jakarta") == []
    assert sum(len(gazetteer.in_kecamatan(k)) for k in gazetteer.kecamatan_names()) == 27


def test_by_code(gazetteer: Gazetteer) -> None:
    area = gazetteer.by_code("35.77.02.1008")
    assert area is not None and area.kelurahan == "Nambangan Lor"
    assert gazetteer.by_code("99.99") is None


# -- landmarks and streets (the example configuration's [[landmarks]]) -----------------------


@pytest.fixture(scope="module")
def city() -> Gazetteer:
    return Gazetteer(
        AREAS, madiun.boundaries(), landmarks=madiun.landmarks(), city_name=madiun.city_name()
    )


def test_the_example_has_a_starter_set_of_landmarks_all_inside_the_city(city: Gazetteer) -> None:
    assert len(madiun.landmarks()) >= 60
    # Each got the kelurahan whose polygon holds its point (the build refuses any outside).
    shapes = _shapes()
    for landmark, kelurahan in city.landmarks:
        assert shapes[kelurahan.code].buffer(0.0005).covers(Point(landmark.lon, landmark.lat))


@pytest.mark.parametrize(
    ("text", "landmark", "kelurahan", "relation"),
    [
        ("dpn pasar besar madiun", "Pasar Besar Madiun", "Kartoharjo", "depan"),
        ("dkt alun2", "Alun-alun Kota Madiun", "Pangongangan", "dekat"),
        ("sblh stasiun", "Stasiun Madiun", "Madiun Lor", "sebelah"),
        ("near the train station", "Stasiun Madiun", "Madiun Lor", "near"),
        ("in front of terminal purboyo", "Terminal Purboyo", "Klegen", "front"),
        ("samping RSUD Sogaten", "RSUD Kota Madiun", "Sogaten", "samping"),
        ("belakang kampus unipma", "Universitas PGRI Madiun", "Kanigoro", "belakang"),
        ("seberang psr joyo", "Pasar Srijaya", "Klegen", "seberang"),
        ("utara masjid agung", "Masjid Agung Baitul Hakim", "Pangongangan", "utara"),
        ("ngarep Pasar Sleko", "Pasar Sleko", None, "ngarep"),
        ("Pahlawan Street Center", "Pahlawan Street Center", None, None),
    ],
)
def test_a_landmark_named_gives_its_kelurahan(
    city: Gazetteer, text: str, landmark: str, kelurahan: str | None, relation: str | None
) -> None:
    found = city.landmark(text)
    assert found is not None, text
    assert (found.landmark.name, found.relation) == (landmark, relation)
    expected = kelurahan or found.kelurahan.kelurahan
    assert found.kelurahan == city.locate(found.point)
    best = city.best(text)
    assert best is not None and best.kelurahan == expected


@pytest.mark.parametrize(
    "text", ["dpn pasar besar madiun", "madiun", "Kota Madiun", "jalan rusak di kota madiun"]
)
def test_the_city_name_never_offers_a_kelurahan(city: Gazetteer, text: str) -> None:
    # It used to offer Madiun Lor ("madiun" is most of "madiunlor").
    assert "Madiun Lor" not in [a.kelurahan for a, _ in city.search(text).kelurahan]
    assert city.best("madiun lor").kelurahan == "Madiun Lor"  # the kelurahan itself still is


def test_a_kelurahan_named_after_kel_wins_over_a_landmark(city: Gazetteer) -> None:
    assert city.best("depan pasar besar, kel. nambangan lor").kelurahan == "Nambangan Lor"


def test_a_place_beats_a_street_and_a_street_is_offered_not_assumed(city: Gazetteer) -> None:
    found = city.landmark("jl pahlawan depan psc")
    assert found is not None and found.landmark.name == "Pahlawan Street Center"
    # A street alone runs through several kelurahan: no answer, its point's kelurahan offered.
    assert city.best("lampu mati di jl. diponegoro") is None
    result = city.search("lampu mati di jl. diponegoro")
    assert result.landmark is not None and result.landmark.landmark.is_street
    assert result.kelurahan[0][0] == result.landmark.kelurahan
    assert city.best("Jl. Salak 5, kel. Taman").kelurahan == "Taman"


def test_landmark_words_are_not_read_as_kelurahan(city: Gazetteer) -> None:
    # "taman" is a kelurahan and a kecamatan; here it is part of the park's name.
    assert city.search("dekat taman bantaran kali").kecamatan is None
    assert city.best("dekat taman bantaran kali").kelurahan == "Manguharjo"


@pytest.mark.parametrize("text", ["pasar", "di depan rumah saya", "sampah numpuk di gang 3"])
def test_generic_words_name_no_landmark(city: Gazetteer, text: str) -> None:
    assert city.landmark(text) is None


def test_a_landmark_outside_the_city_is_refused() -> None:
    with pytest.raises(ValueError, match="'Candi' .* lies outside the city"):
        Gazetteer(AREAS, madiun.boundaries(), landmarks=[Landmark("Candi", -7.75, 110.49)])
    with pytest.raises(ValueError, match="without boundaries"):
        Gazetteer(AREAS, None, landmarks=[Landmark("Alun-alun", -7.6293, 111.5178)])


async def test_a_citizen_who_names_a_landmark_is_not_asked_for_the_kelurahan(
    sqlite_url: str, tmp_path: Path
) -> None:
    service = make_service(sqlite_url, tmp_path)
    async with serve(create_app(service, workers=False)):
        citizen = ConsoleCitizen.attach(service)
        await citizen.type("halo")
        await citizen.type("setuju")
        assert "Benar?" in await citizen.type("sampah numpuk gak diangkut seminggu")
        assert "Di mana" in await citizen.type("ya")
        answer = await citizen.type("dpn pasar besar madiun")
        assert "Kartoharjo" in answer and "Madiun Lor" not in answer
        assert "foto" in answer.lower()  # on to the next question
