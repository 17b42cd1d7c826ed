"""Fitting the category model (`lapor train`) and reading it back for the service.

Training needs scikit-learn (the `train` extra: `pip install -e '.[train]'`, also part of the
`test` extra). It is imported only inside `fit`, so the running service, which only loads the
exported arrays (`load_model`), never pays for it.

Examples come from the labelled set the project ships (`classifier.training`, JSON lines of
{"text", "category"}) and from officers' corrections kept in the database (a report moved to
another category or to an agency with a single category; `storage.examples`). Examples of
categories the configuration no longer has are skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.settings import ConfigError, ConfigProblem, Settings
from intake.categories import CategorySuggester
from intake.classifier import FORMAT, CategoryModel, features

__all__ = [
    "Example",
    "Evaluation",
    "evaluate",
    "evaluate_suggester",
    "fit",
    "read_examples",
    "save_model",
    "read_model",
    "load_category_model",
]

C = 20.0
"""Inverse regularisation strength of the logistic regression (chosen by cross-validation on
the shipped training set: 5, 10, 20 and 50 give top-3 within a point of each other)."""

MIN_DF = 2
"""An n-gram must occur in this many examples to be a feature (keeps the file small)."""


@dataclass(frozen=True)
class Example:
    text: str
    category: str


@dataclass(frozen=True)
class Evaluation:
    examples: int
    top1: float  # share of examples whose category is ranked first
    top3: float  # ... among the first three

    def as_dict(self) -> dict[str, float | int]:
        return {"examples": self.examples, "top1": self.top1, "top3": self.top3}


def read_examples(path: Path) -> list[Example]:
    """Labelled examples from a JSON-lines file; ValueError naming the line when one is bad."""
    examples = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                text, category = item["text"], item["category"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise ValueError(
                    f"{path}:{number}: expected {{'text': ..., 'category': ...}}"
                ) from None
            if not isinstance(text, str) or not isinstance(category, str) or not text.strip():
                raise ValueError(f"{path}:{number}: text and category must be non-empty strings")
            examples.append(Example(text.strip(), category))
    return examples


def fit(examples: Sequence[Example], category_ids: Sequence[str]) -> dict[str, np.ndarray]:
    """Fit TF-IDF + logistic regression on the examples of known categories; the arrays.

    ValueError when fewer than two categories have examples.
    """
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "training needs scikit-learn: pip install -e '.[train]' (or '.[test]')"
        ) from None
    known = set(category_ids)
    usable = [e for e in examples if e.category in known]
    if len({e.category for e in usable}) < 2:
        raise ValueError("training needs examples of at least two configured categories")
    vectorizer = TfidfVectorizer(
        analyzer=features, sublinear_tf=True, min_df=MIN_DF, dtype=np.float64
    )
    matrix = vectorizer.fit_transform([e.text for e in usable])
    labels = [e.category for e in usable]
    classifier = LogisticRegression(C=C, max_iter=5000)
    classifier.fit(matrix, labels)
    ngrams = vectorizer.get_feature_names_out()
    return {
        "format": np.array(FORMAT),
        "classes": np.array([str(c) for c in classifier.classes_]),
        "ngrams": np.array([str(g) for g in ngrams]),
        "idf": vectorizer.idf_.astype(np.float32),
        "weights": classifier.coef_.T.astype(np.float32),
        "intercept": classifier.intercept_.astype(np.float32),
    }


def evaluate(model: CategoryModel, examples: Iterable[Example]) -> Evaluation:
    """Top-1 and top-3 accuracy of the model alone on labelled examples."""
    items = list(examples)
    ranks = [[c for c, _ in model.ranked(e.text, 3)] for e in items]
    return _accuracy(ranks, [e.category for e in items])


def evaluate_suggester(suggester: CategorySuggester, examples: Iterable[Example]) -> Evaluation:
    """Top-1 and top-3 accuracy of what the service suggests (keywords, and the model if any)."""
    items = list(examples)
    ranks = [[c.category_id for c in suggester.suggest(e.text, limit=3)] for e in items]
    return _accuracy(ranks, [e.category for e in items])


def accuracy(ranked: Sequence[Sequence[str]], labels: Sequence[str]) -> Evaluation:
    """Top-1 and top-3 accuracy of rankings (category ids, best first) against labels."""
    return _accuracy(ranked, labels)


def _accuracy(ranked: Sequence[Sequence[str]], labels: Sequence[str]) -> Evaluation:
    total = len(labels)
    if total == 0:
        return Evaluation(0, 0.0, 0.0)
    top1 = sum(1 for r, label in zip(ranked, labels, strict=True) if r[:1] == [label])
    top3 = sum(1 for r, label in zip(ranked, labels, strict=True) if label in list(r)[:3])
    return Evaluation(total, round(top1 / total, 3), round(top3 / total, 3))


def save_model(arrays: dict[str, np.ndarray], path: Path, meta: dict[str, Any]) -> None:
    """Write the arrays (compressed .npz) and `meta` (JSON, next to it), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as f:
        np.savez_compressed(f, **arrays)  # type: ignore[arg-type]
    os.replace(partial, path)
    meta_path = path.with_suffix(".json")
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_model(path: Path) -> CategoryModel:
    """The model stored at `path`; ValueError (with the reason) when it cannot be used."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"cannot read the model {path}: {exc}") from None
    return CategoryModel.from_arrays(arrays)


def load_category_model(settings: Settings) -> CategoryModel | None:
    """The model named by `classifier.model`, or None (keywords only); ConfigError if unusable.

    A model that knows none of the configured categories is refused; one that lacks some (a
    category added since the last `lapor train`) is used, and those categories rely on their
    keywords until the next training.
    """
    path = settings.classifier_path("model")
    if path is None:
        return None
    if not path.is_file():
        raise ConfigError(
            [ConfigProblem("classifier.model", f"no such file: {path} (run `lapor train`)")]
        )
    try:
        model = read_model(path)
    except ValueError as exc:
        raise ConfigError([ConfigProblem("classifier.model", str(exc))]) from None
    configured = [c.id for c in settings.categories]
    if len(model.covers(configured)) == len(configured):
        raise ConfigError(
            [
                ConfigProblem(
                    "classifier.model",
                    f"{path} knows none of the configured categories (run `lapor train`)",
                )
            ]
        )
    return model


async def corrections(database_url: str) -> list[Example]:
    """Officers' category corrections kept in the database, oldest first ([] without one)."""
    from storage import Database, Store
    from storage.db import sqlite_file

    db = Database(database_url)
    path = sqlite_file(db.url)
    if path is not None and not path.exists():
        await db.dispose()
        return []
    try:
        async with Store(db).unit_of_work() as uow:
            rows = await uow.examples.all()
    finally:
        await db.dispose()
    return [Example(r.description, r.category_id) for r in rows]


def train_command(settings: Settings, output: str | None, use_database: bool) -> int:
    """`lapor train`: fit on the shipped examples plus officers' corrections, export the model,
    print its accuracy on the evaluation set. 2 for a configuration problem, 1 on failure."""
    import asyncio
    import sys

    from sqlalchemy.exc import DBAPIError

    training = settings.classifier_path("training")
    if training is None:
        print("lapor train: set classifier.training (labelled examples)", file=sys.stderr)
        return 2
    target = Path(output) if output else settings.classifier_path("model")
    if target is None:
        print("lapor train: set classifier.model or pass --output", file=sys.stderr)
        return 2
    try:
        shipped = read_examples(training)
    except (OSError, ValueError) as exc:
        print(f"lapor train: {exc}", file=sys.stderr)
        return 2
    kept: list[Example] = []
    if use_database:
        try:
            kept = asyncio.run(corrections(settings.storage.database_url))
        except DBAPIError as exc:
            reason = " ".join(str(exc.orig).split())
            print(
                f"lapor train: the database cannot answer ({reason}); run `lapor migrate`, "
                "or train without it (--no-database)",
                file=sys.stderr,
            )
            return 1
    category_ids = [c.id for c in settings.categories]
    examples = shipped + kept
    try:
        arrays = fit(examples, category_ids)
    except (RuntimeError, ValueError) as exc:
        print(f"lapor train: {exc}", file=sys.stderr)
        return 1
    model = CategoryModel.from_arrays(arrays)
    used = [e for e in examples if e.category in set(category_ids)]
    meta: dict[str, Any] = {
        "format": FORMAT,
        "examples": len(used),
        "shipped_examples": sum(1 for e in shipped if e.category in set(category_ids)),
        "officer_examples": sum(1 for e in kept if e.category in set(category_ids)),
        "features": int(arrays["ngrams"].shape[0]),
        "classes": list(model.classes),
    }
    evaluation = settings.classifier_path("evaluation")
    if evaluation is not None:
        try:
            held_out = read_examples(evaluation)
        except (OSError, ValueError) as exc:
            print(f"lapor train: {exc}", file=sys.stderr)
            return 2
        categories = settings.domain_categories()
        meta["evaluation"] = {
            "keywords": evaluate_suggester(CategorySuggester(categories), held_out).as_dict(),
            "model_only": evaluate(model, held_out).as_dict(),
            "combined": evaluate_suggester(
                CategorySuggester(categories, model=model), held_out
            ).as_dict(),
        }
    save_model(arrays, target, meta)
    print(
        f"trained on {meta['examples']} examples ({meta['officer_examples']} from officers), "
        f"{meta['features']} features, {len(model.classes)} categories -> {target}"
    )
    for name, e in meta.get("evaluation", {}).items():
        print(
            f"evaluation, {name} ({e['examples']} examples): "
            f"top-1 {e['top1']:.1%}, top-3 {e['top3']:.1%}"
        )
    missing = model.covers(category_ids)
    if missing:
        print(f"no examples for: {', '.join(missing)} (their keywords still work)")
    return 0
