"""Extractive answers: the one sentence that answers (two when the answer is split over two), quoted and cited,
or "not found" when the passages do not support any answer well enough."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from kbqa.index.embed.embedders import Embedder
from kbqa.index.records import Passage
from kbqa.qa.answer import weights
from kbqa.qa.answer.marks import answer_marks
from kbqa.qa.answer.records import VIETNAMESE_SOURCES, Answer, compose, not_found
from kbqa.qa.answer.sentences import FEATURES, QUESTION_KINDS, Candidate, candidates, names
from kbqa.qa.contracts import Delta, Evidence, Retrieval
from kbqa.text.language import is_vietnamese
from kbqa.text.tokenize import bigram_tokens, overlap

WEAK_LEXICAL = 0.25  # below this best term coverage an English question shares no words with the (Vietnamese) text
SEMANTIC_PASSAGES = 3  # when lexical matching is weak, embed the sentences of this many top passages
# … at most this many of them and this many characters (embedding time grows with the tokens), those sharing most
# with the question (terms, the kind of answer asked for) first. The 40 English questions over ViNewsQA dev (issue 11,
# ONNX engine, idle 2-core EPYC; the only English set, so chosen and reported on the same questions):
#   all (~12 sentences): p50 124-134 ms, answer_ok 0.200, found 0.600 | 6: 46-57 ms, 0.200, 0.575
#   6 and 700 chars: 41 ms, 0.200, 0.600 | 6 and 600: 37 ms, 0.200, 0.525 | 5: 39 ms, 0.200, 0.575
# Embedding them with the int8 graph instead (6: 27 ms) cost answer_ok 0.150: not taken.
SEMANTIC_MAX = 6
SEMANTIC_CHARS = 700
# Cross-lingual support: the best sentence's cosine to the question. On the seeds, English questions the articles
# answer scored 0.84–0.88 and unanswerable ones 0.75–0.79 (bench/RESULTS.md, issue 10); the 40 English ViNewsQA
# questions do not separate at all, so this is a floor for the clear cases, not a calibrated probability.
SEMANTIC_SIM_FLOOR = 0.80
# Cross-lingual sentence score: cosine + 0.1 × (term coverage + 0.3 × answer kinds held), the weights the previous
# answerer used (10 × cosine + coverage + 0.3 per kind), which cited the English seeds questions right.
SEMANTIC_BONUS = 0.1
ANSWER_KIND_BONUS = 0.3
SEMANTIC_SIM_SCALE = 0.015
RESTATED = 0.45  # Jaccard of content tokens from which a second sentence restates the first (syndicated briefs)
SUPPORT_FEATURES = (
    "covw_sentence",  # corpus-IDF share of the question's terms in the chosen sentence
    "covw_passage",  # … in its passage
    "covw_top",  # … in the top passage
    "corpus_share",  # … anywhere in the corpus
    "dense_top",  # best dense cosine of the question to a chunk
    "dense_gap",  # best minus second best
    "bm25_top",  # best BM25 score / the IDF sum of the question's terms the corpus holds (corpus-size free)
    "agree",  # dense and keyword search agree on the top chunk
    "sentence_logit",  # log-odds of the chosen sentence holding the answer (a junk best sentence is far below 0)
)


def restates(first: str, second: str) -> bool:
    """Whether `second` says what `first` says (the same story from another outlet, a repeated lead): most of their
    content tokens shared. A second quote must add something."""
    return overlap(first, second) >= RESTATED


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


def bm25_share(evidence: Evidence) -> float:
    """The best BM25 score over the most a chunk could score with all the question's terms (each term adds less
    than IDF × (k1 + 1)): raw BM25 grows with the corpus, this share does not."""
    from kbqa.index.keyword import K1

    total = sum(evidence.terms.values())
    return evidence.bm25_top / (total * (K1 + 1)) if total else 0.0


def logit(p: float) -> float:
    """log(p / (1 - p)), kept within ±10."""
    p = min(max(p, 4.5e-5), 1 - 4.5e-5)
    return math.log(p / (1.0 - p))


def sentence_probability(features: list[float]) -> float:
    """The chance that a sentence with these FEATURES holds the answer (logistic, weights.SENTENCE)."""
    w = weights.SENTENCE
    total = sum(w.get(name, 0.0) * x for name, x in zip(FEATURES, features, strict=True))
    return _sigmoid(weights.SENTENCE_BIAS + total)


def support_probability(signals: dict[str, float]) -> float:
    """The chance that the articles answer the question, from SUPPORT_FEATURES (logistic, weights.SUPPORT)."""
    w = weights.SUPPORT
    return _sigmoid(weights.SUPPORT_BIAS + sum(w.get(name, 0.0) * signals.get(name, 0.0) for name in w))


@dataclass(frozen=True)
class _Choice:
    chosen: list[Candidate]
    support: float
    signals: dict[str, float]


class ExtractiveAnswerer:
    """Scores each quotable sentence of the retrieved passages by how likely it holds the answer (term coverage
    with corpus IDF, the sentence before it, its passage's rank, the kind of answer asked for: FEATURES), quotes
    the best one (and a second one when the answer looks split), and abstains when the support score is low.
    Cross-lingual questions (no shared words) are scored by embedding similarity instead.

    The retrieval's `evidence` (what hybrid search learnt of the question) feeds the support score; without it
    (passages given directly, or a retriever that measured nothing) the support uses the passages alone."""

    def __init__(self, embedder: Embedder | None = None, threshold: float | None = None) -> None:
        self.embedder = embedder
        self.threshold = weights.SUPPORT_THRESHOLD if threshold is None else threshold

    def stream(self, question: str, retrieval: Retrieval, focus: str = "") -> Iterator[Delta | Answer]:
        """The answer's claims as `Delta`s (space-separated), then the `Answer`."""
        answer = self.answer(question, retrieval, focus)
        for n, claim in enumerate(answer.claims):
            yield Delta(f" {claim.text}" if n else claim.text)
        yield answer

    def answer(self, question: str, retrieval: Retrieval, focus: str = "") -> Answer:
        """The best-supported sentence(s) of `retrieval`'s passages, quoted and cited, or "not found". `focus`: a
        follow-up's "what about X?" — only sentences of passages naming X are quoted."""
        passages = retrieval.passages
        evidence = retrieval.evidence
        english = not is_vietnamese(question)
        cands = candidates(question, passages, evidence.terms if evidence is not None else None)
        focus = focus.lower()
        quotable = [c for c in cands if c.quotable and focus in passages[c.rank].passage.lower()]
        if focus:  # "what about X?": a sentence naming X, else one from a passage naming it
            quotable = [c for c in quotable if focus in c.text.lower()] or quotable
        if not quotable:
            return not_found(question, passages, 0.0)
        if english and max(c.features[0] for c in quotable) < WEAK_LEXICAL and self.embedder is not None:
            choice = self._semantic(question, quotable, self.embedder)
        else:
            choice = self._lexical(quotable, passages, evidence, floor=0.0 if focus else weights.SENTENCE_FLOOR)
        absent = self._absent_name(question, evidence) if not english and evidence is not None else ""
        if absent:  # a name the question asks about that no article mentions: the articles are about something else
            choice = _Choice(choice.chosen, min(choice.support, 0.0), {**choice.signals, "absent_name": 1.0})
        names_focus = bool(focus) and all(focus in c.text.lower() for c in choice.chosen)
        # "What about X?" continues a question the articles answered: the best sentence naming X answers it.
        if choice.support < self.threshold and not names_focus:
            return not_found(question, passages, choice.support)
        quoted = [(c.text, c.rank, answer_marks(question, c.text)) for c in choice.chosen]
        note = VIETNAMESE_SOURCES if english and any(is_vietnamese(c.text) for c in choice.chosen) else ""
        return compose(question, passages, quoted, support=choice.support, note=note)

    def _lexical(
        self, cands: list[Candidate], passages: list[Passage], evidence: Evidence | None, floor: float
    ) -> _Choice:
        """`floor`: the sentence probability below which there is no answer (none for a follow-up's focus: its
        question is the previous one's words around X, which a sentence about X rarely repeats)."""
        for c in cands:
            c.score = sentence_probability(c.features)
        ranked = sorted(cands, key=lambda c: -c.score)
        best = ranked[0]
        chosen = [best]
        if (
            len(ranked) > 1
            and (best.score < weights.SECOND_IF_BEST_BELOW or ranked[1].score >= weights.SECOND_IF_RATIO * best.score)
            and not restates(best.text, ranked[1].text)
        ):
            chosen.append(ranked[1])
            if chosen[1].rank == best.rank and chosen[1].start < best.start:
                chosen.reverse()  # two sentences of one passage read in their order
        covw = FEATURES.index("covw")
        passage_cov = self._passage_coverage(passages, evidence)
        signals = {
            "covw_sentence": best.features[covw],
            "covw_passage": passage_cov[best.rank],
            "covw_top": passage_cov[0],
            "sentence_logit": logit(best.score),
        }
        if evidence is not None:
            signals.update(
                corpus_share=evidence.corpus_share,
                dense_top=evidence.dense_top,
                dense_gap=evidence.dense_top - evidence.dense_second,
                bm25_top=bm25_share(evidence),
                agree=1.0 if evidence.agree else 0.0,
            )
        # Without retrieval's evidence (passages given directly), the support is the best sentence's own chance.
        support = support_probability(signals) if evidence is not None else best.score
        if best.score < floor:  # a quote that almost surely holds no answer is no answer
            support = min(support, best.score)
        return _Choice(chosen, support, signals)

    @staticmethod
    def _absent_name(question: str, evidence: Evidence) -> str:
        """The first name in `question` (a capitalised run, see kbqa.qa.followup.names) that no chunk of the corpus
        holds (its syllable pair, or its syllable when it has one), or "". Measured on ViNewsQA dev half-indexed:
        requiring the name in the retrieved passages instead cost 3.3 points of found_ok (bench/RESULTS.md)."""
        for name in names(question):
            tokens = bigram_tokens(name)
            pairs = [t for t in tokens if "_" in t]
            if any(t in evidence.absent for t in (pairs or tokens)):
                return name
        return ""

    @staticmethod
    def _passage_coverage(passages: list[Passage], evidence: Evidence | None) -> list[float]:
        idf = evidence.terms if evidence is not None else {}
        total = sum(idf.values())
        if not total:
            return [0.0] * len(passages)
        out = []
        for p in passages:
            terms = set(bigram_tokens(p.passage))
            out.append(sum(w for t, w in idf.items() if t in terms) / total)
        return out

    def _semantic(self, question: str, cands: list[Candidate], embedder: Embedder) -> _Choice:
        pool = [c for c in cands if c.rank < SEMANTIC_PASSAGES] or cands
        kinds = [FEATURES.index(f"asks_{kind}") for kind in QUESTION_KINDS]
        if len(pool) > SEMANTIC_MAX or sum(len(c.text) for c in pool) > SEMANTIC_CHARS:
            # stable: ties keep passage rank and reading order
            shared = {id(c): c.features[0] + ANSWER_KIND_BONUS * sum(c.features[i] for i in kinds) for c in pool}
            ranked = sorted(pool, key=lambda c: -shared[id(c)])
            pool, chars = [], 0
            for c in ranked:
                if pool and (len(pool) >= SEMANTIC_MAX or chars + len(c.text) > SEMANTIC_CHARS):
                    continue
                pool.append(c)
                chars += len(c.text)
        vectors = embedder.embed_passages([c.text for c in pool])
        sims = vectors @ embedder.embed_query(question)  # the search embedded it already (memoised)
        for c, sim in zip(pool, sims, strict=True):  # names and numbers shared, and the kind of answer asked for
            c.score = float(sim) + SEMANTIC_BONUS * (
                c.features[0] + ANSWER_KIND_BONUS * sum(c.features[i] for i in kinds)
            )
        best = max(pool, key=lambda c: c.score)
        logit_threshold = math.log(self.threshold / (1.0 - self.threshold)) if 0 < self.threshold < 1 else 0.0
        support = _sigmoid((float(sims[pool.index(best)]) - SEMANTIC_SIM_FLOOR) / SEMANTIC_SIM_SCALE + logit_threshold)
        return _Choice([best], support, {"semantic_sim": best.score})
