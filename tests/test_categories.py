from __future__ import annotations

import madiun
import pytest

from intake.categories import CategorySuggester
from intake.types import Category, CategoryCandidate


@pytest.fixture(scope="module")
def suggester() -> CategorySuggester:
    return CategorySuggester(madiun.categories())


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("jalan depan rumah bolong gede banget", "jalan"),
        ("sampah numpuk udh 3 hari gk diangkut", "sampah"),
        ("lampu2 jalan mati semua, peteng", "pju"),
        ("PDAM mati dari kemarin", "air_bersih"),
        ("antri lama bgt di puskesmas", "kesehatan"),
        ("mau ngurus kk baru blangko habis", "adminduk"),
        ("tolonggg got mampet banjir", "drainase_banjir"),
        ("dalane bolong", "jalan"),  # Javanese
        ("smpah di pinggir jln", "sampah"),  # typo
        ("jalan rusaak parah", "jalan"),  # typo inside a phrase
        ("jalannya berlubang", "jalan"),  # -nya suffix
        ("E-KTP saya belum jadi", "adminduk"),
        ("ektp saya belum jadi", "adminduk"),
        ("wi-fi taman mati terus", "jaringan_internet"),
        ("lampu merah perempatan mati", "lalu_lintas"),
        ("pohon tumbang nutup jalan", "pohon_taman"),
        ("ada pungli waktu ngurus surat", "aparatur_pungli"),
    ],
)
def test_complaints_get_the_category_a_person_would_choose(
    suggester: CategorySuggester, text: str, category: str
) -> None:
    candidates = suggester.suggest(text)
    assert candidates, text
    assert candidates[0].category_id == category
    assert suggester.is_confident(candidates), candidates


@pytest.mark.parametrize("text", ["kursinya rusak", "kantor pers", "mars", "ada bursa kerja"])
def test_short_keywords_do_not_fire_inside_words(suggester: CategorySuggester, text: str) -> None:
    # "rs" (rumah sakit) is a keyword of kesehatan; "kursi", "pers", "bursa" contain it.
    assert "kesehatan" not in [c.category_id for c in suggester.suggest(text, limit=10)]


def test_short_keywords_fire_as_whole_words(suggester: CategorySuggester) -> None:
    assert suggester.suggest("rs nya penuh, gak ada kamar")[0].category_id == "kesehatan"
    assert suggester.suggest("kk hilang")[0].category_id == "adminduk"
    assert "drainase_banjir" not in [c.category_id for c in suggester.suggest("gotong royong")]


def test_nonsense_is_not_confident(suggester: CategorySuggester) -> None:
    candidates = suggester.suggest("asdf qwerty")
    assert not suggester.is_confident(candidates)
    assert candidates == []


def test_ordinary_words_do_not_look_like_keywords(suggester: CategorySuggester) -> None:
    # "bantuin" (help me) is one letter away from the keyword "bantuan" (aid).
    assert suggester.suggest("tolong bantuin pak") == []


def test_fallback_only_when_its_keywords_match(suggester: CategorySuggester) -> None:
    assert "lainnya" not in [c.category_id for c in suggester.suggest("jalan rusak", limit=20)]
    assert suggester.suggest("ada saran untuk pemkot")[0].category_id == "lainnya"


def test_fallback_loses_a_tie_with_a_real_category(suggester: CategorySuggester) -> None:
    candidates = suggester.suggest("info pdam")
    assert [c.category_id for c in candidates][:2] == ["air_bersih", "lainnya"]


def test_two_topics_are_not_confident(suggester: CategorySuggester) -> None:
    candidates = suggester.suggest("taman kotor banyak sampah")
    assert {c.category_id for c in candidates[:2]} == {"sampah", "pohon_taman"}
    assert not suggester.is_confident(candidates)


def test_more_and_longer_keywords_score_higher(suggester: CategorySuggester) -> None:
    one = suggester.suggest("sampah")[0]
    more = suggester.suggest("sampah numpuk, bau busuk")[0]
    assert one.category_id == more.category_id == "sampah"
    assert more.score > one.score
    short = suggester.suggest("rs")[0]
    assert short.category_id == "kesehatan"
    assert short.score < suggester.suggest("puskesmas")[0].score


def test_candidates_are_ranked_scored_and_limited(suggester: CategorySuggester) -> None:
    text = "lampu jalan mati, jalan rusak, sampah numpuk, got mampet"
    candidates = suggester.suggest(text, limit=3)
    assert len(candidates) == 3
    scores = [c.score for c in candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 100 for s in scores)
    assert suggester.suggest(text, limit=0) == []


def test_is_confident_needs_a_high_and_clear_top() -> None:
    suggester = CategorySuggester([])
    assert not suggester.is_confident([])
    assert suggester.is_confident([CategoryCandidate("a", 90.0)])
    assert suggester.is_confident([CategoryCandidate("a", 90.0), CategoryCandidate("b", 70.0)])
    assert not suggester.is_confident([CategoryCandidate("a", 60.0)])
    assert not suggester.is_confident([CategoryCandidate("a", 90.0), CategoryCandidate("b", 85.0)])


def test_any_configured_categories_work() -> None:
    categories = [
        Category("roads", "Roads", "Roads", "works", ("pothole", "broken road")),
        Category("misc", "Misc", "Misc", "desk", ("other",)),
    ]
    suggester = CategorySuggester(categories, fallback_id="misc")
    assert suggester.suggest("big pothle on main street")[0].category_id == "roads"
    assert suggester.suggest("the road is broken")[0].category_id == "roads"
    assert suggester.suggest("misc stuff") == []  # the fallback's name is not a keyword


def test_a_100_kb_description_is_suggested_like_a_short_one(suggester: CategorySuggester) -> None:
    # Pasted logs and forwarded chains reach the suggester whole; matching stays linear in the
    # text (bench/bench_suggest.py times it), and the topic repeated throughout still wins.
    sentence = "jalan depan rumah bolong gede banget, motor sering jatuh, mohon diperbaiki. "
    text = (sentence * (100_000 // len(sentence) + 1))[:100_000]
    candidates = suggester.suggest(text)
    assert candidates[0].category_id == "jalan"
    assert suggester.is_confident(candidates)
