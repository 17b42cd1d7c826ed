"""The learned category model: the shipped data, the shipped model, `lapor train`, and what
officers' corrections add."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import madiun
import numpy as np
import pytest
from app_server import ConsoleCitizen, make_service, serve
from desk_helpers import desk_service, eventually
from fake_telegram import FakeTelegram

from bot.cli import main as lapor
from bot.compose import create_app
from bot.training import (
    evaluate,
    evaluate_suggester,
    fit,
    read_examples,
    read_model,
)
from intake.categories import CategorySuggester
from intake.classifier import CategoryModel, features

ROOT = Path(__file__).resolve().parent.parent
TRAINING = ROOT / "data/training/categories.jsonl"
EVALUATION = ROOT / "data/training/evaluation.jsonl"
MODEL = ROOT / "data/models/categories.npz"
CONFIG = ROOT / "config.example.toml"


@pytest.fixture(scope="module")
def model() -> CategoryModel:
    return read_model(MODEL)


@pytest.fixture(scope="module")
def suggester(model: CategoryModel) -> CategorySuggester:
    return CategorySuggester(madiun.categories(), model=model)


def test_every_category_has_its_training_and_evaluation_examples() -> None:
    ids = {c.id for c in madiun.categories()}
    training = read_examples(TRAINING)
    evaluation = read_examples(EVALUATION)
    per_training = Counter(e.category for e in training)
    per_evaluation = Counter(e.category for e in evaluation)
    assert {c for c in ids if per_training[c] < 40} == set()
    assert {c for c in ids if per_evaluation[c] < 10} == set()
    assert set(per_training) | set(per_evaluation) <= ids
    # Evaluated on complaints it never saw.
    seen = {" ".join(features(e.text)) for e in training}
    assert [e.text for e in evaluation if " ".join(features(e.text)) in seen] == []


def test_the_shipped_model_still_scores_what_it_stored(model: CategoryModel) -> None:
    # data/models/categories.json holds the figures `lapor train` measured; a broken or stale
    # model (features changed, arrays mixed up) falls well below them.
    stored = json.loads(MODEL.with_suffix(".json").read_text())["evaluation"]
    evaluation = read_examples(EVALUATION)
    alone = evaluate(model, evaluation)
    assert alone.top1 >= stored["model_only"]["top1"] - 0.02
    assert alone.top3 >= stored["model_only"]["top3"] - 0.02
    both = evaluate_suggester(CategorySuggester(madiun.categories(), model=model), evaluation)
    assert both.top1 >= stored["combined"]["top1"] - 0.02
    assert both.top3 >= stored["combined"]["top3"] - 0.02
    assert both.top3 >= 0.95 and both.top1 >= 0.85
    # ... and it beats the keywords alone, which leave some complaints without any suggestion.
    keywords = evaluate_suggester(CategorySuggester(madiun.categories()), evaluation)
    assert both.top3 > keywords.top3 + 0.1


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("dalan e ancur, watu watu podho metu", "jalan"),  # Javanese
        ("omah e mbah ambruk kena angin wingi bengi", "bencana"),
        ("bocah bocah podho watuk gara gara kebul pabrik", "lingkungan"),
        ("kantor kelurahan minta duit buat tanda tangan", "aparatur_pungli"),
    ],
)
def test_complaints_without_keywords_get_the_right_top_three(
    suggester: CategorySuggester, text: str, category: str
) -> None:
    assert CategorySuggester(madiun.categories()).suggest(text) == []  # no keyword in them
    assert category in [c.category_id for c in suggester.suggest(text)]


def test_unsure_suggestions_say_so_and_offer_three(suggester: CategorySuggester) -> None:
    clear = suggester.assess("sampah numpuk udh seminggu gak diangkut truk sampah")
    assert clear.confident and clear.top is not None and clear.top.category_id == "sampah"
    vague = suggester.assess("tolong pak segera ditindaklanjuti, sudah lama sekali")
    assert not vague.confident
    assert len(vague.candidates) == 3
    scores = [c.score for c in vague.candidates]
    assert scores == sorted(scores, reverse=True)


def test_a_100_kb_description_is_suggested(suggester: CategorySuggester) -> None:
    text = "pipa pdam bocor depan rumah, air mati sejak kemarin. " * 2000
    assert suggester.suggest(text)[0].category_id == "air_bersih"


def test_a_model_file_that_does_not_fit_is_refused(tmp_path: Path) -> None:
    with np.load(MODEL, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["weights"] = arrays["weights"][:-1]
    broken = tmp_path / "broken.npz"
    np.savez(broken, **arrays)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="do not fit"):
        read_model(broken)
    (tmp_path / "junk.npz").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="cannot read"):
        read_model(tmp_path / "junk.npz")


def test_fitting_again_gives_the_shipped_figures() -> None:
    ids = [c.id for c in madiun.categories()]
    fresh = CategoryModel.from_arrays(fit(read_examples(TRAINING), ids))
    stored = json.loads(MODEL.with_suffix(".json").read_text())["evaluation"]["model_only"]
    figures = evaluate(fresh, read_examples(EVALUATION))
    assert abs(figures.top1 - stored["top1"]) <= 0.02
    assert abs(figures.top3 - stored["top3"]) <= 0.02


async def test_an_officers_correction_is_kept_and_learned_by_lapor_train(
    database_url: str,
    tmp_path: Path,
    fake_telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with desk_service(database_url, tmp_path, fake_telegram) as desk:
        await desk.file_report()  # "Jalan depan pasar bolong ...": filed as jalan (DPUPR)
        async with desk.api() as api:
            moved = await api.post(
                "/api/reports/MDN-00001/status",
                json={"category": "drainase_banjir", "actor": "dashboard"},
            )
            assert moved.status_code == 200, moved.text
            report = moved.json()["report"]
            assert (report["category"], report["agency"]) == ("drainase_banjir", "dpupr")
            again = await api.post(
                "/api/reports/MDN-00001/status", json={"category": "drainase_banjir"}
            )
            assert again.status_code == 409  # nothing to change, nothing learned twice
            unknown = await api.post("/api/reports/MDN-00001/status", json={"category": "nope"})
            assert unknown.status_code == 422

    output = tmp_path / "model.npz"
    monkeypatch.setenv("LAPOR_STORAGE__DATABASE_URL", database_url)
    command = ["--config", str(CONFIG), "train", "--output", str(output)]
    assert await asyncio.to_thread(lapor, command) == 0  # a command line, not in this loop
    printed = capsys.readouterr().out
    assert "(1 from officers)" in printed
    assert "evaluation, combined" in printed
    meta = json.loads(output.with_suffix(".json").read_text())
    assert meta["officer_examples"] == 1
    assert read_model(output).classes == read_model(MODEL).classes


async def test_an_officer_moves_a_report_to_another_category_from_the_group(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with desk_service(sqlite_url, tmp_path, fake_telegram) as desk:
        await desk.file_report()  # jalan, DPUPR
        said = await desk.command("/alihkan MDN-00001 drainase_banjir", "MDN-00001")
        assert (
            said == "MDN-00001: jenis masalah kini Drainase, Saluran & Genangan/Banjir (oleh Budi)."
        )
        await eventually(
            lambda: [e for e in desk.edits() if "Drainase, Saluran & Genangan/Banjir" in e["text"]]
        )
        async with desk.service.store.unit_of_work() as uow:
            kept = await uow.examples.all()
        assert [(e.category_id, e.previous_category_id, e.actor) for e in kept] == [
            ("drainase_banjir", "jalan", kept[0].actor)
        ]
        assert kept[0].actor.startswith("officer:")
        assert kept[0].description.startswith("Jalan depan pasar bolong")


async def test_the_service_proposes_a_category_the_keywords_alone_miss(
    sqlite_url: str, tmp_path: Path
) -> None:
    # A Javanese complaint without any configured keyword: the running service (the shipped
    # model) proposes the category; with classifier.model = "" it offers the whole list.
    text = "omah e mbah ambruk kena angin wingi bengi"
    answers = {}
    for name, env in (("model", {}), ("keywords", {"LAPOR_CLASSIFIER__MODEL": ""})):
        service = make_service(sqlite_url, tmp_path / name, **env)
        async with serve(create_app(service, workers=False)):
            citizen = ConsoleCitizen.attach(service, chat_id=f"warga-{name}")
            await citizen.type("halo")
            await citizen.type("setuju")
            answers[name] = await citizen.type(text)
    assert "Bencana & Kedaruratan" in answers["model"] and "Benar?" in answers["model"]
    assert "Benar?" not in answers["keywords"]
