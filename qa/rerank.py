"""Rerank the top fused passages by their best single sentence's match to the question (corpus IDF weighted)."""

from __future__ import annotations

import math
from dataclasses import replace

from kbqa.index.records import Passage
from kbqa.text.sentences import split_sentences
from kbqa.text.tokenize import bigram_tokens

DEPTH = 10  # the fused passages reordered (deeper gained nothing on ViNewsQA dev, and each costs ~0.2 ms)
SENTENCE_WEIGHT = 1.0  # for a Vietnamese question fully covered by the corpus (scaled like the keyword weight)


def term_weights(frequencies: dict[str, int], n: int) -> dict[str, float]:
    """BM25's IDF of each term (term → number of chunks holding it) over `n` chunks."""
    return {term: math.log(1.0 + (n - df + 0.5) / (df + 0.5)) for term, df in frequencies.items()}


def best_sentence(text: str, weights: dict[str, float]) -> float:
    """The largest IDF-weighted share of the question's terms that one sentence of `text` holds (0–1).

    A question is usually written about one sentence: a passage whose words are spread over many sentences
    (what BM25 over the whole passage rewards) is less likely to answer it."""
    total = sum(weights.values())
    if not total:
        return 0.0
    best = 0.0
    for s, e in split_sentences(text):
        terms = set(bigram_tokens(text[s:e]))
        best = max(best, sum(w for t, w in weights.items() if t in terms))
    return best / total


def rerank(passages: list[Passage], weights: dict[str, float], strength: float) -> list[Passage]:
    """The first DEPTH passages reordered by score / top score + `strength` × best sentence share; the rest
    keep their order after them. Scores become the new ones (non-negative fused scores expected)."""
    strength *= SENTENCE_WEIGHT
    if strength <= 0 or not passages or passages[0].score <= 0:
        return passages
    top = passages[0].score
    head = [replace(p, score=p.score / top + strength * best_sentence(p.passage, weights)) for p in passages[:DEPTH]]
    head.sort(key=lambda p: -p.score)
    return head + [replace(p, score=p.score / top) for p in passages[DEPTH:]]
