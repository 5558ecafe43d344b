"""Hybrid search: dense (embedding) and keyword (BM25) rankings fused, keyword weighted by how much it can say.

Plain Python (no LangChain import): `kbqa ask` runs this directly; qa/retriever.py wraps it as a retriever."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kbqa.index.records import Passage
from kbqa.qa.rerank import DEPTH, rerank, term_weights
from kbqa.text.language import is_vietnamese

KEYWORD_WEIGHT = 5.0  # keyword weight for a Vietnamese question whose terms all occur in the corpus (tuned on dev)
ENGLISH_FACTOR = 0.3  # English questions over (mostly Vietnamese) text: keyword matches are names and numbers
CANDIDATES = 30  # passages taken from each retriever before fusing


def document_frequencies(query: str, keyword: Any) -> dict[str, int]:
    """The query's distinct keyword terms → how many chunks hold each."""
    return {term: keyword.document_frequency(term) for term in keyword.query_terms(query)}


def keyword_weight(query: str, keyword: Any, frequencies: dict[str, int] | None = None) -> float:
    """How much to trust keyword search for `query`: the IDF-weighted share of its terms found in the corpus,
    scaled down for an English question (its words rarely occur in Vietnamese text, and those that do are
    names, numbers and loanwords). `frequencies`: `document_frequencies(query, keyword)` if already known."""
    frequencies = document_frequencies(query, keyword) if frequencies is None else frequencies
    idf = term_weights(frequencies, len(keyword))
    total = sum(idf.values())
    if not total:
        return 0.0
    share = sum(w for term, w in idf.items() if frequencies[term]) / total
    return KEYWORD_WEIGHT * share * (1.0 if is_vietnamese(query) else ENGLISH_FACTOR)


def fuse(
    dense: Sequence[tuple[int, float]], keyword: Sequence[tuple[int, float]], weight: float, k: int
) -> list[tuple[int, float]]:
    """Score fusion: dense scores min-max scaled to [0, 1] over the candidates, plus `weight` × BM25 / top BM25.

    With weight 0 the dense order is kept exactly. (Reciprocal-rank fusion was measured worse: it gives a
    weak retriever's ranks as much say as a strong one's, see bench/RESULTS.md.)"""
    scores: dict[int, float] = {}
    if dense:
        top, low = dense[0][1], min(s for _, s in dense)
        for cid, s in dense:
            scores[cid] = (s - low) / (top - low) if top > low else 1.0
    if weight > 0 and keyword:
        best = keyword[0][1]
        for cid, s in keyword:
            scores[cid] = scores.get(cid, 0.0) + weight * s / best
    return sorted(scores.items(), key=lambda item: -item[1])[:k]


class StoreKeywords:
    """The keyword index of a store's current generation: the one saved with it, else built from its chunks
    (in a background thread when there are more than INLINE_CHUNKS; until it is ready, `current()` is None and
    retrieval is dense only)."""

    INLINE_CHUNKS = 5000  # ~1 s of tokenising on a busy core

    def __init__(self, store: Any) -> None:
        self.store = store
        self._generation: int | None = None
        self._index: Any = None
        self._lock = threading.Lock()

    def current(self) -> Any:
        with self._lock:
            manifest = self.store.manifest
            if self._generation == manifest.generation:
                return self._index
            self._generation = manifest.generation
            saved = self.store.keywords()
            if saved is not None or manifest.chunks <= self.INLINE_CHUNKS:
                self._index = saved if saved is not None else self._built()
            else:
                self._index = None  # never the previous generation's: it may name removed chunks
                threading.Thread(target=self._build, args=(manifest.generation,), daemon=True).start()
            return self._index

    def _built(self) -> Any:
        """A keyword index built from the store's chunks (a store that saved none)."""
        from kbqa.index.keyword import KeywordIndex

        return KeywordIndex.build(*self.store.chunk_texts())

    def _build(self, generation: int) -> None:
        built = self._built()
        with self._lock:
            if self._generation == generation:
                self._index = built


@dataclass(frozen=True)
class Evidence:
    """What retrieval knew about a query, for the answerer's support score: the corpus IDF of each query term
    (a term no chunk holds has the highest), the IDF share of the terms the corpus holds, the best dense cosines,
    the best BM25 score and whether dense and keyword search agreed on the top chunk."""

    terms: dict[str, float] = field(default_factory=dict)
    corpus_share: float = 0.0
    dense_top: float = 0.0
    dense_second: float = 0.0
    bm25_top: float = 0.0
    agree: bool = False
    absent: frozenset[str] = frozenset()  # the query's terms no chunk holds


class HybridSearch:
    """Dense retrieval over a `Store` fused with keyword search over the same chunks; picks up a newer
    generation per question. `keyword`: a `StoreKeywords` (follows the store) or a fixed `KeywordIndex`."""

    EVIDENCE_KEPT = 64  # queries whose evidence is remembered for the answerer (the chat asks from threads)

    def __init__(self, store: Any, embedder: Any, keyword: Any, k: int = 5) -> None:
        self.store, self.embedder, self.keyword, self.k = store, embedder, keyword, k
        self._evidence: OrderedDict[str, Evidence] = OrderedDict()
        self._evidence_lock = threading.Lock()

    def evidence(self, query: str) -> Evidence:
        """The evidence of the last search for `query` (searching again if it is no longer remembered)."""
        with self._evidence_lock:
            found = self._evidence.get(query)
        if found is None:
            self.search(query)
            with self._evidence_lock:
                found = self._evidence.get(query, Evidence())
        return found

    def _remember(self, query: str, evidence: Evidence) -> None:
        with self._evidence_lock:
            self._evidence[query] = evidence
            self._evidence.move_to_end(query)
            while len(self._evidence) > self.EVIDENCE_KEPT:
                self._evidence.popitem(last=False)

    def search(self, query: str, k: int | None = None) -> list[Passage]:
        """The fused top passages for `query`, best first (score: the fused score)."""
        k = k or self.k
        n = max(k, CANDIDATES)
        self.store.refresh()
        keyword = self.keyword.current() if isinstance(self.keyword, StoreKeywords) else self.keyword
        dense = [(p.chunk_id, p.score) for p in self.store.search(self.embedder.embed_query(query), n)]
        frequencies = document_frequencies(query, keyword) if keyword is not None else {}
        weight = keyword_weight(query, keyword, frequencies) if keyword is not None else 0.0
        keyword_hits = keyword.search(query, n) if weight > 0 else []
        hits = fuse(dense, keyword_hits, weight, max(k, DEPTH))
        idf = term_weights(frequencies, len(keyword)) if keyword is not None else {}
        total = sum(idf.values())
        self._remember(
            query,
            Evidence(
                terms=idf,
                corpus_share=sum(w for t, w in idf.items() if frequencies[t]) / total if total else 0.0,
                dense_top=dense[0][1] if dense else 0.0,
                dense_second=dense[1][1] if len(dense) > 1 else 0.0,
                bm25_top=keyword_hits[0][1] if keyword_hits else 0.0,
                agree=bool(dense and keyword_hits and dense[0][0] == keyword_hits[0][0]),
                absent=frozenset(t for t, n in frequencies.items() if not n),
            ),
        )
        rows = self.store.passages([cid for cid, _ in hits])
        passages = [replace(rows[cid], score=s) for cid, s in hits if cid in rows]
        if weight > 0:  # passages with both signals: fused score, then the best sentence's share of the terms
            passages = rerank(passages, term_weights(frequencies, len(keyword)), weight / KEYWORD_WEIGHT)
        return passages[:k]
