"""BM25 keyword search in the PostgreSQL store: postings of index/keyword.py's hashed terms, scored in SQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from index.keyword import K1, B, term_ids
from index.pg_schema import ALIVE
from index.tokenize_vi import get_tokenizer

# Lucene's BM25 as KeywordIndex.search computes it, over the postings of chunks live in generation %(g)s;
# a term id found twice in one chunk (a hash collision) counts twice, as in KeywordIndex
SEARCH = f"""
WITH hits AS (
    SELECT p.term, p.chunk_id, p.tf, c.length FROM postings p JOIN chunks c ON c.id = p.chunk_id
    WHERE p.term = ANY(%(terms)s) AND {ALIVE.format(t="c")}
), df AS (SELECT term, count(*)::float8 AS n FROM hits GROUP BY term)
SELECT h.chunk_id, sum(
    ln(1 + (%(n)s - df.n + 0.5) / (df.n + 0.5)) * h.tf / (h.tf + %(k1)s * (1 - %(b)s + %(b)s * h.length / %(avgdl)s))
) AS score
FROM hits h JOIN df USING (term) GROUP BY h.chunk_id ORDER BY score DESC, h.chunk_id LIMIT %(k)s
"""
FREQUENCY = f"""
SELECT count(*) FROM postings p JOIN chunks c ON c.id = p.chunk_id WHERE p.term = %(term)s AND {ALIVE.format(t="c")}
"""


def postings(chunk_id: int, tokens: list[str]) -> Iterator[tuple[int, int, float]]:
    """(term id, chunk id, term frequency) rows of one chunk's tokens."""
    counts = Counter(tokens)
    for term, tf in zip(term_ids(list(counts)), counts.values(), strict=True):
        yield int(term), chunk_id, float(tf)


class PgKeywords:
    """The keyword index of one generation of a PostgreSQL store, with KeywordIndex's search interface."""

    def __init__(self, pool: Any, generation: int, chunks: int, tokens: int, tokenizer: str) -> None:
        self._pool, self.generation, self.chunks, self.tokens = pool, generation, chunks, tokens
        self.tokenizer = tokenizer
        self._tokenize = get_tokenizer(tokenizer)

    def __len__(self) -> int:
        return self.chunks

    def query_terms(self, query: str) -> list[str]:
        """The query's distinct tokens."""
        return list(dict.fromkeys(self._tokenize(query)))

    def document_frequency(self, term: str) -> int:
        """How many live chunks contain `term` (a token as the tokenizer makes it)."""
        (tid,) = term_ids([term])
        with self._pool.connection() as conn:
            return conn.execute(FREQUENCY, {"term": int(tid), "g": self.generation}).fetchone()[0]

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
