"""Suggesting a complaint category from what the citizen wrote.

Each configured category brings keywords (Indonesian, chat spellings, Javanese) and a name in
Indonesian and English. Both sides go through `intake.normalize.normalize`, so "jln rusak" in
the configuration and "jln. rusaaak" from a citizen meet as "jalan rusak" / "jalan rusak".

Matching, word by word (never inside a word):

- keywords of at most `SHORT_KEYWORD` characters ("rs", "kk", "tps", "got") match only whole,
  identical tokens: "kursi" does not contain "rs";
- longer words match fuzzily (`fuzz.ratio` >= `TOKEN_CUTOFF`): "smpah" ~ "sampah",
  "rusaak" ~ "rusak"; a "-nya" suffix is ignored ("jalannya" ~ "jalan");
- a keyword of several words matches when all its words are found close together, in any
  order, with at most `MAX_GAP` other words in between ("jalan depan rumah bolong" ~ "jalan
  bolong"); each word in between costs `GAP_PENALTY`;
- hyphenated or split words also match their joined form ("e ktp" ~ "ektp", "wi fi" ~ "wifi").

A category's evidence is the sum over its matched keywords of similarity x weight, where the
weight grows with the keyword's length (specificity) and is divided by the number of categories
that share the keyword. Words of the category's names count as weak keywords. The score is
`100 * (1 - exp(-evidence / SCORE_SCALE))`: one unshared keyword of four letters or more gives
at least 70, several give close to 100.

With a learned model (`intake.classifier.CategoryModel`, passed in by whoever loaded it), the
two kinds of evidence are combined as a noisy-or: with keyword score k (0..1) and model
probability p, the category scores `100 * (1 - (1 - k) * (1 - p))`, so either a clear keyword
or a confident model is enough, and both together are more. (Chosen by cross-validation on the
shipped training set over a weighted mean; bench/bench_classifier.py prints the figures.)
Categories scoring under `MODEL_FLOOR` are not listed.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from intake.classifier import CategoryModel
from intake.normalize import normalize
from intake.types import Category, CategoryCandidate

__all__ = ["CategorySuggester", "Suggestion"]

# Words of category names that say nothing about the topic.
_NAME_STOPWORDS = frozenset(
    {"dan", "atau", "serta", "yang", "untuk", "umum", "layanan", "pelayanan", "lainnya", "lain"}
    | {"and", "the", "of", "for", "other", "others", "general", "services", "service"}
)


@dataclass(frozen=True)
class _Keyword:
    category: int  # index into CategorySuggester._ids
    forms: tuple[tuple[str, ...], ...]  # token sequences; the first is the keyword as written
    weight: float


@dataclass(frozen=True)
class Suggestion:
    """What `CategorySuggester.assess` found: the candidates and whether to propose the first.

    When `confident` is false and there are candidates, a flow can offer them as buttons.
    """

    candidates: tuple[CategoryCandidate, ...]
    confident: bool

    @property
    def top(self) -> CategoryCandidate | None:
        return self.candidates[0] if self.candidates else None


class CategorySuggester:
    """Ranks configured categories against a complaint text. Build once, use many times."""

    SHORT_KEYWORD = 3
    """Keywords and words this long or shorter only match identical whole tokens."""

    TOKEN_CUTOFF = 87.0
    """Least `fuzz.ratio` for a longer word to count as a keyword word. 85 would also accept
    one changed letter in a 7-letter word, e.g. "bantuin" (help me) for "bantuan" (aid)."""

    MAX_GAP = 4
    """Most other words allowed between the words of one multi-word keyword."""

    GAP_PENALTY = 0.08
    """Similarity lost (0..1) for each word between the words of a multi-word keyword."""

    NAME_WEIGHT = 0.5
    """Weight of a word from a category's name, relative to a keyword of the same length."""

    FALLBACK_WEIGHT = 0.5
    """Weight of the fallback category's keywords, so a real category wins a tie."""

    SCORE_SCALE = 0.74
    """Evidence that scores 63. One 4-letter keyword ("pdam", weight 0.9) scores 70.4, one
    6-letter keyword ("sampah", weight 1.1) 77, "rs" or "kk" alone (0.7) 61."""

    CONFIDENT_SCORE = 70.0
    """Least top score for `is_confident`."""

    CONFIDENT_MARGIN = 10.0
    """Least lead of the top candidate over the second for `is_confident`."""

    CACHE_SIZE = 8192
    """Words whose keyword matches are remembered (per suggester)."""

    MAX_WORDS = 20_000
    """Words of a text read for keywords (a 100 KB paste has about 15,000)."""

    MODEL_FLOOR = 5.0
    """With a model: least combined score for a category to be listed beyond the first
    `MODEL_LISTED` (which are always listed, so an unsure suggestion can offer three)."""

    MODEL_LISTED = 3

    def __init__(
        self,
        categories: Sequence[Category],
        *,
        fallback_id: str = "lainnya",
        model: CategoryModel | None = None,
    ) -> None:
        self._ids = tuple(c.id for c in categories)
        self.fallback_id = fallback_id
        self.model = model
        phrases = [self._phrases(c) for c in categories]
        sharing: dict[tuple[str, ...], int] = defaultdict(int)  # categories per phrase
        for own in phrases:
            for words in own:
                sharing[words] += 1
        keywords: list[_Keyword] = []
        for index, own in enumerate(phrases):
            for words, factor in own.items():
                joined = "".join(words)
                forms = (words, (joined,)) if len(words) > 1 else (words,)
                weight = factor * self._specificity(joined) / sharing[words]
                keywords.append(_Keyword(index, forms, weight))
        self._keywords = tuple(keywords)
        # word -> [(keyword index, form index, position in form)]
        postings: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        for k, keyword in enumerate(keywords):
            for f, form in enumerate(keyword.forms):
                for position, word in enumerate(form):
                    postings[word].append((k, f, position))
        self._postings = dict(postings)
        self._fuzzy_vocabulary = sorted(w for w in postings if len(w) > self.SHORT_KEYWORD)
        self._match_word = lru_cache(maxsize=self.CACHE_SIZE)(self._match_word_uncached)

    @property
    def category_ids(self) -> tuple[str, ...]:
        return self._ids

    def suggest(self, text: str, limit: int = 3) -> list[CategoryCandidate]:
        """Categories `text` is probably about, best first, score 0..100; [] when none match."""
        if limit <= 0:
            return []
        evidence = self._evidence(normalize(text).split()[: self.MAX_WORDS])
        if self.model is not None:
            return self._combined(text, evidence)[:limit]
        ranked = sorted(evidence.items(), key=lambda item: (-item[1], item[0]))
        return [
            CategoryCandidate(self._ids[index], self._score(value))
            for index, value in ranked[:limit]
        ]

    def assess(self, text: str, limit: int = 3) -> Suggestion:
        """`suggest` and `is_confident` in one: the candidates and whether the first is clear."""
        candidates = self.suggest(text, limit=max(limit, 2))
        return Suggestion(tuple(candidates[: max(limit, 0)]), self.is_confident(candidates))

    def is_confident(self, candidates: Sequence[CategoryCandidate]) -> bool:
        """Whether the top candidate is good enough to propose on its own."""
        if not candidates or candidates[0].score < self.CONFIDENT_SCORE:
            return False
        return len(candidates) == 1 or (
            candidates[0].score - candidates[1].score >= self.CONFIDENT_MARGIN
        )

    # -- internals -----------------------------------------------------------------------------

    def _combined(self, text: str, evidence: dict[int, float]) -> list[CategoryCandidate]:
        """Keyword scores and model probabilities as a noisy-or, best first."""
        assert self.model is not None
        probabilities = self.model.probabilities(text)
        scored = []
        for index, category_id in enumerate(self._ids):
            keyword = 1.0 - math.exp(-evidence.get(index, 0.0) / self.SCORE_SCALE)
            learned = probabilities.get(category_id, 0.0)
            score = round(100.0 * (1.0 - (1.0 - keyword) * (1.0 - learned)), 1)
            scored.append((score, index))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [
            CategoryCandidate(self._ids[index], score)
            for rank, (score, index) in enumerate(scored)
            if rank < self.MODEL_LISTED or score >= self.MODEL_FLOOR
        ]

    def _phrases(self, category: Category) -> dict[tuple[str, ...], float]:
        """A category's normalised keywords and name words, with their weight factor."""
        factor = self.FALLBACK_WEIGHT if category.id == self.fallback_id else 1.0
        phrases: dict[tuple[str, ...], float] = {}
        for keyword in category.keywords:
            words = tuple(normalize(keyword).split())
            if words:
                phrases[words] = factor
        if category.id != self.fallback_id:
            for word in normalize(f"{category.name} {category.name_en}").split():
                if len(word) > self.SHORT_KEYWORD and word not in _NAME_STOPWORDS:
                    phrases.setdefault((word,), factor * self.NAME_WEIGHT)
        return phrases

    def _specificity(self, joined: str) -> float:
        """Weight of a keyword by its length without spaces: "rs" 0.7, "sampah" 1.1, max 2."""
        return min(2.0, max(0.6, 0.5 + 0.1 * len(joined)))

    def _score(self, evidence: float) -> float:
        return round(100.0 * (1.0 - math.exp(-evidence / self.SCORE_SCALE)), 1)

    def _match_word_uncached(self, word: str) -> tuple[tuple[str, float], ...]:
        """Keyword words that `word` stands for, with similarity 0..1."""
        found: dict[str, float] = {}
        variants = [word]
        if word.endswith("nya") and len(word) >= 6:
            variants.append(word[:-3])
        for variant in variants:
            if variant in self._postings:
                found[variant] = 1.0
            if len(variant) > self.SHORT_KEYWORD:
                for match, score, _ in process.extract(
                    variant,
                    self._fuzzy_vocabulary,
                    scorer=fuzz.ratio,
                    score_cutoff=self.TOKEN_CUTOFF,
                    limit=None,
                ):
                    found[match] = max(found.get(match, 0.0), score / 100.0)
        return tuple(found.items())

    def _evidence(self, words: list[str]) -> dict[int, float]:
        # (keyword, form) -> position in form -> [(position in text, similarity)]
        hits: dict[tuple[int, int], dict[int, list[tuple[int, float]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        surfaces = list(enumerate(words))
        # "e ktp", "wi fi": also try the joined form when one part is a stray letter or two.
        surfaces += [
            (i, words[i] + words[i + 1])
            for i in range(len(words) - 1)
            if min(len(words[i]), len(words[i + 1])) <= 2
        ]
        for position, surface in surfaces:
            for vocab_word, similarity in self._match_word(surface):
                for k, f, slot in self._postings[vocab_word]:
                    hits[(k, f)][slot].append((position, similarity))
        best: dict[int, float] = {}
        for (k, f), slots in hits.items():
            similarity = self._form_similarity(len(self._keywords[k].forms[f]), slots)
            if similarity > best.get(k, 0.0):
                best[k] = similarity
        evidence: dict[int, float] = defaultdict(float)
        for k, similarity in best.items():
            keyword = self._keywords[k]
            evidence[keyword.category] += similarity * keyword.weight
        return evidence

    def _form_similarity(self, size: int, slots: dict[int, list[tuple[int, float]]]) -> float:
        """Best similarity of a keyword form given where its words were found (0 = absent).

        Linear in the number of hits: each slot's hits are sorted once, and for every start only
        the hits inside that start's window (at most `size - 1 + MAX_GAP` positions) are read.
        """
        if len(slots) < size:
            return 0.0
        if size == 1:
            return max(similarity for _, similarity in slots[0])
        ordered = [sorted(slots[slot]) for slot in range(size)]
        positions = [[position for position, _ in found] for found in ordered]
        best = 0.0
        starts = sorted({position for found in positions for position in found})
        for start in starts:
            end = start + size - 1 + self.MAX_GAP
            used: set[int] = set()
            total = 0.0
            for slot in range(size):
                low = bisect_left(positions[slot], start)
                high = bisect_right(positions[slot], end)
                options = [
                    (similarity, position)
                    for position, similarity in ordered[slot][low:high]
                    if position not in used
                ]
                if not options:
                    break
                similarity, position = max(options)
                used.add(position)
                total += similarity
            else:
                gaps = max(used) - min(used) + 1 - size
                best = max(best, total / size - self.GAP_PENALTY * gaps)
        return best
