"""A learned category model: character n-gram TF-IDF features and a linear classifier.

The model is fitted offline (`lapor train`, with scikit-learn, in `bot.training`) on the labelled
complaints the project ships (data/training/categories.jsonl) plus officers' corrections, and
exported as plain arrays (data/models/categories.npz). This module only scores texts with those
arrays, in numpy: the running service never imports scikit-learn.

Features: `features(text)` is the analyzer both sides use, so training and inference cannot
drift apart. The text goes through `intake.normalize.normalize` (chat abbreviations spelled out,
elongations collapsed), then every word, padded with a space on each side, yields its character
n-grams of `MIN_N`..`MAX_N` characters (a word shorter than n yields itself once, as
scikit-learn's "char_wb" analyzer does). Character n-grams carry typos, affixes and Javanese
spellings ("dalane", "jeglongan", "smpah") that whole-word keywords miss.

Scoring: sublinear term frequency (1 + log tf) times the n-gram's idf, L2-normalised, times the
weight matrix plus the intercept, then a softmax over the categories: a probability per
category. Only the first `MAX_CHARS` characters are read, so a pasted 100 KB wall of text costs
what a long complaint costs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from intake.normalize import normalize

__all__ = ["FORMAT", "CategoryModel", "features"]

FORMAT = "char-tfidf-linear/1"
"""The export format this module reads (stored in the model file as `format`)."""

MIN_N = 2
MAX_N = 5
MAX_CHARS = 4000


def features(text: str) -> list[str]:
    """The character n-grams of `text` (normalised), word by word, as the model sees them."""
    grams: list[str] = []
    for word in normalize(text[:MAX_CHARS]).split():
        padded = f" {word} "
        size = len(padded)
        for n in range(MIN_N, MAX_N + 1):
            if size <= n:
                grams.append(padded)
                continue
            grams.extend(padded[i : i + n] for i in range(size - n + 1))
    return grams


@dataclass(frozen=True)
class CategoryModel:
    """The exported arrays of a fitted model, ready to score texts."""

    classes: tuple[str, ...]  # category ids, in the column order of `weights`
    vocabulary: Mapping[str, int]  # n-gram -> row of `weights` / index of `idf`
    idf: np.ndarray  # (features,)
    weights: np.ndarray  # (features, classes)
    intercept: np.ndarray  # (classes,)

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> CategoryModel:
        """A model from its exported arrays; ValueError when they do not fit together."""
        try:
            fmt = str(np.asarray(arrays["format"]).item())
            ngrams = [str(g) for g in np.asarray(arrays["ngrams"]).tolist()]
            classes = tuple(str(c) for c in np.asarray(arrays["classes"]).tolist())
            idf = np.asarray(arrays["idf"], dtype=np.float32)
            weights = np.asarray(arrays["weights"], dtype=np.float32)
            intercept = np.asarray(arrays["intercept"], dtype=np.float32)
        except KeyError as exc:
            raise ValueError(f"model: missing array {exc.args[0]!r}") from None
        if fmt != FORMAT:
            raise ValueError(f"model: format {fmt!r}, this version reads {FORMAT!r}")
        if not classes or len(set(classes)) != len(classes):
            raise ValueError("model: classes must be distinct and not empty")
        if len(set(ngrams)) != len(ngrams):
            raise ValueError("model: n-grams must be distinct")
        if idf.shape != (len(ngrams),) or weights.shape != (len(ngrams), len(classes)):
            raise ValueError(
                f"model: {len(ngrams)} n-grams and {len(classes)} classes do not fit "
                f"idf {idf.shape} and weights {weights.shape}"
            )
        if intercept.shape != (len(classes),):
            raise ValueError(f"model: intercept {intercept.shape} for {len(classes)} classes")
        if not (np.isfinite(idf).all() and np.isfinite(weights).all()):
            raise ValueError("model: idf and weights must be finite numbers")
        vocabulary = {gram: i for i, gram in enumerate(ngrams)}
        return cls(classes, vocabulary, idf, weights, intercept)

    def probabilities(self, text: str) -> dict[str, float]:
        """Each category's probability (0..1, summing to 1) for `text`."""
        counts = Counter(features(text))
        rows = [self.vocabulary[g] for g in counts if g in self.vocabulary]
        logits = self.intercept.astype(np.float64)
        if rows:
            index = np.array(rows, dtype=np.int64)
            tf = np.array(
                [1.0 + math.log(counts[g]) for g in counts if g in self.vocabulary],
                dtype=np.float64,
            )
            values = tf * self.idf[index]
            norm = float(np.sqrt((values * values).sum()))
            if norm > 0:
                values /= norm
            logits = logits + values @ self.weights[index].astype(np.float64)
        logits -= logits.max()
        exp = np.exp(logits)
        exp /= exp.sum()
        return {c: float(p) for c, p in zip(self.classes, exp, strict=True)}

    def ranked(self, text: str, limit: int | None = None) -> list[tuple[str, float]]:
        """Categories by probability, best first (ties by id)."""
        found = sorted(self.probabilities(text).items(), key=lambda item: (-item[1], item[0]))
        return found if limit is None else found[:limit]

    def covers(self, category_ids: Sequence[str]) -> list[str]:
        """The configured categories this model knows nothing about."""
        known = set(self.classes)
        return [c for c in category_ids if c not in known]
