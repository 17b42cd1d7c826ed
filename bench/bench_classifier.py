"""Category suggestion on labelled complaints the model was not trained on: before and after.

    python bench/bench_classifier.py

Prints top-1 and top-3 accuracy and the share of complaints that get no suggestion at all, on
data/training/evaluation.jsonl, for the keyword suggester alone (before), the shipped learned
model alone, and both combined (what the service suggests), then what loading the model and one
suggestion cost. The model is the shipped data/models/categories.npz (`lapor train` rebuilds it).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.training import Example, accuracy, read_examples, read_model  # noqa: E402
from intake.categories import CategorySuggester  # noqa: E402
from tests import madiun  # noqa: E402

MODEL = ROOT / "data/models/categories.npz"
EVALUATION = ROOT / "data/training/evaluation.jsonl"


def report(name: str, ranked: list[list[str]], examples: list[Example]) -> None:
    figures = accuracy(ranked, [e.category for e in examples])
    empty = sum(1 for r in ranked if not r) / len(ranked)
    print(
        f"{name:28s} top-1 {figures.top1:6.1%}   top-3 {figures.top3:6.1%}   "
        f"no suggestion {empty:6.1%}"
    )


def main() -> None:
    examples = read_examples(EVALUATION)
    categories = madiun.categories()
    started = time.perf_counter()
    model = read_model(MODEL)
    loaded = time.perf_counter() - started
    keywords = CategorySuggester(categories)
    combined = CategorySuggester(categories, model=model)
    print(f"{len(examples)} evaluation complaints, {len(categories)} categories")
    report(
        "keywords (before)",
        [[c.category_id for c in keywords.suggest(e.text)] for e in examples],
        examples,
    )
    report("model only", [[c for c, _ in model.ranked(e.text, 3)] for e in examples], examples)
    report(
        "keywords + model (after)",
        [[c.category_id for c in combined.suggest(e.text)] for e in examples],
        examples,
    )
    confident = [combined.assess(e.text) for e in examples]
    sure = [s for s, e in zip(confident, examples, strict=True) if s.confident]
    right = sum(
        1
        for s, e in zip(confident, examples, strict=True)
        if s.confident and s.top is not None and s.top.category_id == e.category
    )
    print(
        f"confident (one proposal)     {len(sure) / len(examples):6.1%} of complaints, "
        f"{right / max(len(sure), 1):6.1%} of them right; the rest get the top 3 as buttons"
    )
    rounds = 5
    started = time.perf_counter()
    for _ in range(rounds):
        for e in examples:
            combined.suggest(e.text)
    each = (time.perf_counter() - started) / (rounds * len(examples))
    print(f"model load {loaded * 1000:.1f} ms, {len(model.vocabulary)} n-grams")
    print(f"one suggestion (keywords + model) {each * 1000:.2f} ms")
    wall = "jalan depan rumah bolong, sampah numpuk, lampu mati. " * 2000
    started = time.perf_counter()
    combined.suggest(wall)
    print(f"one {len(wall) // 1000} KB description {(time.perf_counter() - started) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
