"""Hybrid search: dense (embedding) and keyword (BM25) rankings fused, keyword weighted by how much it can say.

Three `Retriever`s (kbqa.qa.contracts): hybrid (the default), dense only and keyword only. Plain Python (no
LangChain import): `kbqa ask` runs them directly; qa/retriever.py adapts one to LangChain's BaseRetriever."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from kbqa.index.embed.embedders import Embedder
from kbqa.index.records import Passage
from kbqa.index.store.api import KeywordSearch, StoreReader
from kbqa.qa.contracts import Evidence, Retrieval
from kbqa.qa.rerank import DEPTH, rerank, term_weights
from kbqa.qa.timeline import is_dated, is_recent, newest_first, window
from kbqa.qa.when import When
from kbqa.text.language import is_vietnamese

KEYWORD_WEIGHT = 5.0  # keyword weight for a Vietnamese question whose terms all occur in the corpus (tuned on dev)
ENGLISH_FACTOR = 0.3  # English questions over (mostly Vietnamese) text: keyword matches are names and numbers
CANDIDATES = 30  # passages taken from each retriever before fusing
# For a "latest" question, the days before the end searched in turn: a daily series (a gold price, a war) has hundreds
# of near-identical briefs, and the newest is rarely among the 30 most relevant (bench_time: 0 of 10 latest questions
# answered from the newest day by reordering the top 30).
RECENT_DAYS = (3, 10, 30, 90, 365)
# … and a window holds the topic when its best dense cosine is at least the whole search's ON_TOPIC_RANK-th best
# (bench_time's tune half, 20 "latest" questions: the 10th 9 right, the 15th 12, the 20th 13, the 25th 12, the 30th 11)
ON_TOPIC_RANK = 20
# … or comes within ON_TOPIC_MARGIN of its best: a long series' 20 best are near-identical (tune: 0.02 14/20, 0.03 15,
# 0.04 16, 0.05 16)
ON_TOPIC_MARGIN = 0.04
# An English "latest" question's windows are searched with the titles of the whole search's best passages: in
# English alone the last days' best match was often another series (tune: 6 of 8 right without, 7 with; for dated
# questions it cost one of 19, so they keep the question)
TOPIC_TITLES = 3


def document_frequencies(query: str, keyword: KeywordSearch) -> dict[str, int]:
    """The query's distinct keyword terms → how many chunks hold each."""
    return {term: keyword.document_frequency(term) for term in keyword.query_terms(query)}


def corpus_share(idf: dict[str, float], frequencies: dict[str, int]) -> float:
    """The IDF-weighted share of the query's terms that the corpus holds (`idf`: each term's, `frequencies`: how
    many chunks hold each)."""
    total = sum(idf.values())
    return sum(w for term, w in idf.items() if frequencies[term]) / total if total else 0.0


def keyword_weight(query: str, share: float) -> float:
    """How much to trust keyword search for `query`: the corpus share of its terms (`corpus_share`), scaled down
    for an English question (its words rarely occur in Vietnamese text, and those that do are names, numbers and
    loanwords)."""
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

    def __init__(self, store: StoreReader) -> None:
        self.store = store
        self._generation: int | None = None
        self._index: KeywordSearch | None = None
        self._lock = threading.Lock()

    def current(self) -> KeywordSearch | None:
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

    def _built(self) -> KeywordSearch:
        """A keyword index built from the store's chunks (a store that saved none)."""
        from kbqa.index.keyword import KeywordIndex

        return KeywordIndex.build(*self.store.chunk_texts())

    def _build(self, generation: int) -> None:
        built = self._built()
        with self._lock:
            if self._generation == generation:
                self._index = built


class KeywordSource(Protocol):
    """Where hybrid search gets its keyword index for the next query (a `StoreKeywords` follows the store)."""

    def current(self) -> KeywordSearch | None:
        """The keyword index to search now, or None (dense only)."""
        ...


class FixedKeywords:
    """One keyword index for every query (a store that does not change while it is searched, e.g. in eval)."""

    def __init__(self, index: KeywordSearch) -> None:
        self.index = index

    def current(self) -> KeywordSearch:
        return self.index


class HybridRetriever:
    """Dense retrieval over a store fused with keyword search over the same chunks; picks up a newer generation
    per query. Its `Retrieval` carries the `Evidence` the extractive answerer's support score uses."""

    def __init__(self, store: StoreReader, embedder: Embedder, keywords: KeywordSource) -> None:
        self.store, self.embedder, self.keywords = store, embedder, keywords

    def retrieve(self, query: str, k: int, when: When | None = None) -> Retrieval:
        """The fused top `k` passages for `query`, best first (score: the fused score); with `when` (and an archive
        with dates), only those its window of days allows, and for recency the newest on-topic (`_recent`)."""
        self.store.refresh()
        vector = self.embedder.embed_query(query)
        within = dated_chunks(self.store, when)
        if within is not None and not len(within):  # nothing published then: say what the archive covers
            return Retrieval(query, [], None, when, self.store.published_range())
        if within is None and not (is_recent(when) and self.store.published_range()[1] is not None):
            passages, evidence = self._search(query, vector, k, None)
            return Retrieval(query, passages[:k], evidence, when)
        if is_recent(when):
            probe, probe_vector = query, vector
            if not is_vietnamese(query):  # cross-lingual: the windows are searched in the topic's own words
                best = self._search(query, vector, k, None)[0]
                probe = " ".join([query, *(p.title for p in best[:TOPIC_TITLES])])
                probe_vector = self.embedder.embed_query(probe)
            passages, found = self._recent(probe, probe_vector, k, within, self._on_topic(probe_vector), when)
            return Retrieval(query, passages[:k], found, when, topic_in_window=True)
        passages, found = self._search(query, vector, k, within)
        return Retrieval(query, passages[:k], found, when, topic_in_window=found.dense_top >= self._on_topic(vector))

    def _on_topic(self, vector: np.ndarray) -> float:
        """The dense cosine from which a passage is on the query's topic: the whole archive's ON_TOPIC_RANK-th best,
        or ON_TOPIC_MARGIN below its best, whichever is lower (the margin alone in an archive of fewer chunks)."""
        hits = self.store.search(vector, ON_TOPIC_RANK)
        if not hits:
            return 1.0
        floor = hits[ON_TOPIC_RANK - 1].score if len(hits) >= ON_TOPIC_RANK else 1.0
        return min(floor, hits[0].score - ON_TOPIC_MARGIN)

    def _recent(
        self, query: str, vector: np.ndarray, k: int, within: np.ndarray | None, bar: float, when: When
    ) -> tuple[list[Passage], Evidence]:
        """For a "latest" question: the search repeated over the last days before the window's end (or the
        archive's last day), longer and longer (RECENT_DAYS), until one finds the topic (its best dense cosine at
        least `bar`); the newest day's passages on the topic."""
        end = window(when)[1] or self.store.published_range()[1]
        if end is None:  # nothing is dated: newest means nothing
            return self._search(query, vector, k, within)
        for days in RECENT_DAYS:
            since = (datetime.fromisoformat(end) - timedelta(days=days)).isoformat()
            recent = self.store.chunks_published(since, end)
            if within is not None:
                recent = np.intersect1d(recent, within)
            if not len(recent):
                continue
            passages, evidence = self._search(query, vector, max(k, CANDIDATES), recent)  # the window's newest too
            if evidence.dense_top >= bar:
                return newest_first(passages), evidence
        passages, evidence = self._search(query, vector, k, within)
        return newest_first(passages), evidence

    def _search(
        self, query: str, vector: np.ndarray, k: int, within: np.ndarray | None
    ) -> tuple[list[Passage], Evidence]:
        """The fused, reranked passages for `query` among `within` (None: every chunk), and what was learnt."""
        n = max(k, CANDIDATES)
        keyword = self.keywords.current()
        dense = self.store.search(vector, n, within)
        frequencies = document_frequencies(query, keyword) if keyword is not None else {}
        idf = term_weights(frequencies, len(keyword)) if keyword is not None else {}
        share = corpus_share(idf, frequencies)
        weight = keyword_weight(query, share)
        keyword_hits = keyword.search(query, n, within) if keyword is not None and weight > 0 else []
        hits = fuse(dense, keyword_hits, weight, max(k, DEPTH))
        evidence = Evidence(
            terms=idf,
            corpus_share=share,
            dense_top=dense[0][1] if dense else 0.0,
            dense_second=dense[1][1] if len(dense) > 1 else 0.0,
            bm25_top=keyword_hits[0][1] if keyword_hits else 0.0,
            agree=bool(dense and keyword_hits and dense[0][0] == keyword_hits[0][0]),
            absent=frozenset(t for t, n in frequencies.items() if not n),
        )
        passages = _fetched(self.store, hits)
        if weight > 0:  # passages with both signals: fused score, then the best sentence's share of the terms
            passages = rerank(passages, idf, weight / KEYWORD_WEIGHT)
        return passages, evidence


class DenseRetriever:
    """Embedding search alone (`kbqa eval --retriever dense`): no evidence for the answerer."""

    def __init__(self, store: StoreReader, embedder: Embedder) -> None:
        self.store, self.embedder = store, embedder

    def retrieve(self, query: str, k: int, when: When | None = None) -> Retrieval:
        within = dated_chunks(self.store, when)
        hits = self.store.search(self.embedder.embed_query(query), k, within)
        return Retrieval(query, _fetched(self.store, hits), when=when)


class KeywordRetriever:
    """BM25 search alone (`kbqa eval --retriever keyword`): no evidence for the answerer."""

    def __init__(self, store: StoreReader, keywords: KeywordSource) -> None:
        self.store, self.keywords = store, keywords

    def retrieve(self, query: str, k: int, when: When | None = None) -> Retrieval:
        within = dated_chunks(self.store, when)
        keyword = self.keywords.current()
        hits = keyword.search(query, k, within) if keyword is not None else []
        return Retrieval(query, _fetched(self.store, hits), when=when)


def dated_chunks(store: StoreReader, when: When | None) -> np.ndarray | None:
    """The chunks published in `when`'s window of days, or None for no limit: `when` names no days, no document of
    the store has a publication time (dates in questions then say nothing about which article answers), or a
    "latest"/"today" window ends after the archive does (it would list every dated chunk: at 97,592 chunks that took
    74 ms of dense search embedded and 534 ms on PostgreSQL, bench/bench_time_filter.py)."""
    if not is_dated(when):
        return None
    since, until = window(when)
    first, last = store.published_range()
    if first is None or last is None:
        return None
    if is_recent(when) and since is None and (until is None or until >= last):
        return None
    return store.chunks_published(since, until)


def _fetched(store: StoreReader, hits: Sequence[tuple[int, float]]) -> list[Passage]:
    """The passages of `hits` ((chunk id, score), best first), scored, fetched in one call."""
    rows = store.passages([cid for cid, _ in hits])
    return [replace(rows[cid], score=s) for cid, s in hits if cid in rows]
