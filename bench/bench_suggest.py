"""Throughput of category suggestion, place search and GPS point location on one core.

    python bench/bench_suggest.py [seconds-per-measurement]

Uses the example configuration (config.example.toml and its boundaries file). Category
suggestion is measured twice: with the suggester's word cache switched off (every word of every
text matched against the keyword vocabulary) and with it on (the steady state of a running
service, where most words have been seen before).
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake.categories import CategorySuggester  # noqa: E402
from intake.places import Gazetteer  # noqa: E402
from intake.types import GeoPoint  # noqa: E402
from tests import madiun  # noqa: E402

COMPLAINTS = [
    "jalan depan rumah bolong gede banget",
    "sampah numpuk udh 3 hari gk diangkut",
    "lampu2 jalan mati semua, peteng",
    "PDAM mati dari kemarin",
    "antri lama bgt di puskesmas",
    "mau ngurus kk baru blangko habis",
    "tolonggg got mampet banjir",
    "dalane bolong",
    "asdf qwerty",
    "Selamat siang pak, saya mau melaporkan jalan di depan SDN 3 Manguharjo berlubang besar "
    "sejak seminggu, sudah dua motor jatuh. Mohon segera diperbaiki, terima kasih.",
    "parkir liar di depan pasar besar bikin macet tiap sore",
    "wifi gratis di taman kota mati terus, lemot bgt",
    "ada pungli waktu ngurus surat pindah di kelurahan, diminta uang rokok 50rb",
    "pohon tumbang nutup jalan di jl. pahlawan",
    "anak saya gak dapat KIP padahal keluarga tidak mampu",
    "asap pembakaran sampah dari pabrik bikin sesak",
]

PLACES = [
    "manguharja",
    "Kel. Nambangan Lor",
    "kec taman",
    "oro2 ombo",
    "jl. pahlawan no 5 dekat alun2, kel. pangongangan",
    "klegen, kartoharjo",
    "RT 3 RW 2 Demangan",
    "jakarta selatan",
    "dekat masjid agung",
    "Jl. Diponegoro, Kota Madiun",
]


def rate(run: Callable[[], int], seconds: float) -> float:
    """Operations per second of `run` (which returns how many operations it did)."""
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        done += run()
    return done / elapsed


def main(argv: Sequence[str]) -> None:
    seconds = float(argv[0]) if argv else 1.0
    categories, areas, boundaries = madiun.categories(), madiun.areas(), madiun.boundaries()
    print(
        f"{len(categories)} categories, {sum(len(c.keywords) for c in categories)} keywords, "
        f"{len(areas)} kelurahan"
    )

    class Uncached(CategorySuggester):
        CACHE_SIZE = 0

    uncached = Uncached(categories)

    def suggest_cold() -> int:
        for text in COMPLAINTS:
            uncached.suggest(text)
        return len(COMPLAINTS)

    suggester = CategorySuggester(categories)

    def suggest_warm() -> int:
        for text in COMPLAINTS:
            suggester.suggest(text)
        return len(COMPLAINTS)

    gazetteer = Gazetteer(areas, boundaries)

    def search() -> int:
        for text in PLACES:
            gazetteer.search(text)
        return len(PLACES)

    # Points spread over the city's bounding box padded by about 1 km: roughly half inside.
    rng = random.Random(42)
    points = [
        GeoPoint(rng.uniform(-7.69, -7.585), rng.uniform(111.486, 111.569)) for _ in range(2000)
    ]

    def locate() -> int:
        for point in points:
            gazetteer.locate(point)
        return len(points)

    started = time.perf_counter()
    CategorySuggester(categories)
    built_suggester = time.perf_counter() - started
    started = time.perf_counter()
    Gazetteer(areas, boundaries)
    built_gazetteer = time.perf_counter() - started

    print(f"build CategorySuggester         {built_suggester * 1000:8.1f} ms")
    print(f"build Gazetteer                 {built_gazetteer * 1000:8.1f} ms")
    print(f"category suggestions (no cache)   {rate(suggest_cold, seconds):8.0f} /s")
    print(f"category suggestions (cached)     {rate(suggest_warm, seconds):8.0f} /s")
    print(f"place searches                  {rate(search, seconds):8.0f} /s")
    print(f"point locations                 {rate(locate, seconds):8.0f} /s")
    # One pasted wall of text, 25-100 KB: the time should grow linearly with the length.
    sentence = "jalan depan rumah bolong, sampah numpuk, lampu mati, air pdam keruh. "
    for size in (25_000, 50_000, 100_000):
        text = (sentence * (size // len(sentence) + 1))[:size]
        started = time.perf_counter()
        suggester.suggest(text)
        took = time.perf_counter() - started
        print(f"one {size // 1000:3d} KB description          {took * 1000:8.1f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
