"""Extractive answers: the retrieved sentences that best answer the question, each with its [n] citation."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from index.chunking import split_sentences
from index.records import Passage
from index.tokenize_vi import bigram_tokens
from qa.answer.records import Answer, Citation

MIN_SENTENCE_CHARS = 12
WEAK_LEXICAL = 0.25  # below this best term coverage the question shares no words with the text (e.g. English)
SEMANTIC_PASSAGES = 3  # when lexical matching is weak, embed the sentences of this many top passages
RANK_WEIGHT = 0.5  # × a passage's document's best score / the top score (tuned on ViNewsQA dev: 1 and 2 were worse)
ANSWER_MARGIN = 0.6  # further sentences join the answer when they score within this of the best one
CONTEXT_WEIGHT = 0.5
# A sentence opening with one of these refers back to the one before it ("It opened in 1889.").
ANAPHOR = re.compile(
    r"^(?:it|its|they|their|he|she|his|her|this|these|those|nó|họ|ông|bà|đây|điều này|chúng)\b", re.IGNORECASE
)


@dataclass
class _Candidate:
    rank: int
    text: str
    follows: int | None = None  # index of the sentence before it in the same passage
    penalty: float = 0.0
    score: float = 0.0


# What kind of answer a question asks for, and what a sentence holding one looks like: a time expression
# for "when", a number for "how many", an enumeration for "which ...s".
_TIME = re.compile(
    r"\b(?:\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{1,2}:\d{2}|(?:ngày|tháng|năm|quý)\s+\d+|"
    r"(?:đầu|cuối|giữa)\s+(?:tháng|năm|tuần)|1\d{3}|20\d{2})\b",
    re.IGNORECASE,
)
ANSWER_TYPES = (
    (re.compile(r"\b(?:khi nào|bao giờ|lúc nào|ngày nào|năm nào|tháng nào|thời gian nào|when)\b", re.I), _TIME),
    (re.compile(r"\b(?:bao nhiêu|mấy|how (?:many|much))\b", re.I), re.compile(r"\d")),
    (
        re.compile(r"\b(?:những|các)\b.*\bnào\b|\bwhich\b|\bwhat\b.*s\b", re.I),
        re.compile(r"(?:[^,]+,){2,}|\bnhư\b.+\bvà\b", re.I),
    ),
)
ANSWER_TYPE_BONUS = 0.3
HEADLINE_PENALTY = 0.25  # a headline names the topic; the sentences under it hold the answer


def answer_type_bonus(question: str, sentence: str) -> float:
    """A bonus when the sentence holds the kind of answer the question asks for, a malus when it cannot."""
    for asks, holds in ANSWER_TYPES:
        if asks.search(question):
            return ANSWER_TYPE_BONUS if holds.search(sentence) else -ANSWER_TYPE_BONUS
    return 0.0


NO_ANSWER = "No passage in the knowledge base answers this question."


def _candidates(passages: list[Passage]) -> list[_Candidate]:
    seen: set[str] = set()
    out = []
    for rank, p in enumerate(passages):
        previous = None
        for s, e in split_sentences(p.passage):
            text = p.passage[s:e]
            if len(text) >= MIN_SENTENCE_CHARS and text not in seen:
                seen.add(text)
                out.append(_Candidate(rank, text, previous, -HEADLINE_PENALTY if text == p.title else 0.0))
                previous = len(out) - 1
    return out


def _coverage(question: str, cands: list[_Candidate]) -> list[float]:
    """IDF-weighted share of the question's terms each sentence contains (IDF over the candidates), plus
    half its predecessor's share when it refers back to it: "It opened in 1889." after "The Eiffel Tower…"."""
    q_terms = set(bigram_tokens(question))
    sent_terms = [set(bigram_tokens(c.text)) for c in cands]
    df = Counter(t for st in sent_terms for t in st & q_terms)
    weight = {t: 1.0 + math.log((len(cands) + 1) / (df[t] + 1)) for t in q_terms}
    total = sum(weight.values()) or 1.0
    own = [sum(weight[t] for t in st & q_terms) / total for st in sent_terms]
    context = [
        CONTEXT_WEIGHT * own[c.follows] if c.follows is not None and ANAPHOR.match(c.text) else 0.0 for c in cands
    ]
    return [a + b for a, b in zip(own, context, strict=True)]


class ExtractiveAnswerer:
    """Scores each retrieved sentence by the question's terms it contains and its passage's rank; when the
    question shares almost no words with the text (a cross-lingual question), by embedding similarity."""

    def __init__(self, embedder: Any | None = None, max_sentences: int = 3) -> None:
        self.embedder = embedder
        self.max_sentences = max_sentences

    def __call__(self, inputs: dict) -> Answer:
        question: str = inputs["question"]
        passages: list[Passage] = inputs["passages"]
        cands = _candidates(passages)
        if not cands:
            return Answer(question, NO_ANSWER, [], passages)
        top = max(passages[0].score, 1e-9)
        # A passage ranks with its document's best passage: within a document the retrievers' order says little
        # about which sentence answers (keyword search favours the passage repeating the question's words).
        doc_best: dict[str, float] = {}
        for p in passages:
            doc_best[p.doc_id] = max(doc_best.get(p.doc_id, p.score), p.score)
        coverage = _coverage(question, cands)
        for cand, cov in zip(cands, coverage, strict=True):
            rank_bonus = RANK_WEIGHT * max(0.0, doc_best[passages[cand.rank].doc_id] / top)
            cand.score = cand.penalty + cov + rank_bonus + answer_type_bonus(question, cand.text)
        if max(coverage) < WEAK_LEXICAL and self.embedder is not None:
            self._score_semantically(question, cands, coverage)
        chosen = sorted(cands, key=lambda c: -c.score)
        best = chosen[0].score
        chosen = [c for c in chosen[: self.max_sentences] if c.score >= best - ANSWER_MARGIN]
        return self._compose(question, passages, chosen)

    def _score_semantically(self, question: str, cands: list[_Candidate], coverage: list[float]) -> None:
        pool = [i for i, c in enumerate(cands) if c.rank < SEMANTIC_PASSAGES]
        vectors = self.embedder.embed_passages([cands[i].text for i in pool])
        sims = vectors @ self.embedder.embed_query(question)
        for c in cands:
            c.score = -100.0  # only the embedded sentences compete
        for i, sim in zip(pool, sims, strict=True):
            bonus = coverage[i] + answer_type_bonus(question, cands[i].text) + cands[i].penalty
            cands[i].score = 10.0 * float(sim) + bonus

    @staticmethod
    def _compose(question: str, passages: list[Passage], chosen: list[_Candidate]) -> Answer:
        numbers: dict[int, int] = {}
        parts = []
        for cand in chosen:
            n = numbers.setdefault(cand.rank, len(numbers) + 1)
            parts.append(f"{cand.text} [{n}]")
        citations = [Citation(n, passages[rank]) for rank, n in numbers.items()]
        return Answer(question, " ".join(parts), citations, passages)
