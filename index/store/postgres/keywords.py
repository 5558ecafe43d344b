"""BM25 keyword search in the PostgreSQL store: postings of index/keyword.py's hashed terms, scored in SQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from kbqa.index.keyword import K1, B, term_ids
from kbqa.index.store.postgres.schema import DEAD
from kbqa.index.tokenize_vi import get_tokenizer

# Lucene's BM25 as KeywordIndex.search computes it, over the postings of chunks live in generation %(g)s;
# a term id found twice in one chunk (a hash collision) counts twice, as in KeywordIndex
SEARCH = f"""
WITH hits AS (
    SELECT term, chunk_id, tf, length FROM postings WHERE term = ANY(%(terms)s) AND chunk_id NOT IN ({DEAD})
), df AS (SELECT term, count(*)::float8 AS n FROM hits GROUP BY term)
SELECT h.chunk_id, sum(
    ln(1 + (%(n)s - df.n + 0.5) / (df.n + 0.5)) * h.tf / (h.tf + %(k1)s * (1 - %(b)s + %(b)s * h.length / %(avgdl)s))
) AS score
FROM hits h JOIN df USING (term) GROUP BY h.chunk_id ORDER BY score DESC, h.chunk_id LIMIT %(k)s
"""
FREQUENCIES = f"""
SELECT term, count(*) FROM postings WHERE term = ANY(%(terms)s) AND chunk_id NOT IN ({DEAD}) GROUP BY term
"""
CACHED_TERMS = 4096  # document frequencies remembered per generation


def postings(chunk_id: int, tokens: list[str]) -> Iterator[tuple[int, int, float, int]]:
    """(term id, chunk id, term frequency, the chunk's token count) rows of one chunk's tokens."""
    counts = Counter(tokens)
    for term, tf in zip(term_ids(list(counts)), counts.values(), strict=True):
        yield int(term), chunk_id, float(tf), len(tokens)


class PgKeywords:
    """The keyword index of one generation of a PostgreSQL store, with KeywordIndex's search interface."""

    def __init__(self, pool: Any, generation: int, chunks: int, tokens: int, tokenizer: str) -> None:
        self._pool, self.generation, self.chunks, self.tokens = pool, generation, chunks, tokens
        self.tokenizer = tokenizer
        self._tokenize = get_tokenizer(tokenizer)
        self._frequencies: dict[str, int] = {}
        self._asked: list[str] = []

    def __len__(self) -> int:
        return self.chunks

    def query_terms(self, query: str) -> list[str]:
        """The query's distinct tokens (their document frequencies are then fetched together, on first use)."""
        terms = list(dict.fromkeys(self._tokenize(query)))
        self._asked = terms
        return terms

    def document_frequency(self, term: str) -> int:
        """How many live chunks contain `term` (a token as the tokenizer makes it)."""
        if term not in self._frequencies:
            self.document_frequencies([term, *self._asked])
        return self._frequencies[term]

    def document_frequencies(self, terms: list[str]) -> dict[str, int]:
        """term → how many live chunks contain it, in one query (a generation's counts never change: cached)."""
        todo = [t for t in dict.fromkeys(terms) if t not in self._frequencies]
        fetched: dict[str, int] = {}
        if todo:
            ids = [int(i) for i in term_ids(todo)]
            with self._pool.connection() as conn:
                found = dict(conn.execute(FREQUENCIES, {"terms": ids, "g": self.generation}).fetchall())
            fetched = {t: found.get(i, 0) for t, i in zip(todo, ids, strict=True)}
        answer = {t: fetched[t] if t in fetched else self._frequencies[t] for t in terms}
        if len(self._frequencies) + len(fetched) > CACHED_TERMS:  # the answer is made first: this forgets them too
            self._frequencies.clear()
        self._frequencies.update(fetched)
        return answer

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """The `k` best (chunk_id, BM25 score), best first; chunks sharing no term with the query are left out."""
        terms = sorted({int(t) for t in term_ids(self.query_terms(query))})
        if not self.chunks or k < 1 or not terms:
            return []
        params = {"terms": terms, "g": self.generation, "n": float(self.chunks), "k1": K1, "b": B, "k": k}
        params["avgdl"] = self.tokens / self.chunks or 1.0
        with self._pool.connection() as conn:
            rows = conn.execute(SEARCH, params).fetchall()
        return [(int(i), float(s)) for i, s in rows if s > 0]
