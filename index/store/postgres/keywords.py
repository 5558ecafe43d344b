"""BM25 keyword search in the PostgreSQL store: postings in blocks per term and commit, read for a query's terms
and scored in numpy exactly as the embedded index scores (index/keyword.py's bm25_top).

A row per (term, chunk) and the score summed in SQL took 98 ms a query at 97,592 chunks (210,000 postings read
for a 31-term title, the embedded engine 4 ms): a block is one row per term, and numpy does the rest.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from kbqa.index.keyword import Segment, bm25_top, joined, term_ids
from kbqa.index.store.postgres.schema import ALIVE
from kbqa.text.tokenize import get_tokenizer

MERGE_AT = 8  # blocks a term may have live; a commit touching a term with more merges them into one
CACHED_POSTINGS = 4_000_000  # postings a reader keeps (per generation, the most recently used terms; ~32 MB)
LIVE_BLOCKS = ALIVE.format(t="p")
BLOCKS = f"SELECT p.term, p.chunks, p.tfs FROM postings p WHERE p.term = ANY(%(terms)s) AND {LIVE_BLOCKS}"


def encode(chunks: np.ndarray, tfs: np.ndarray) -> tuple[bytes, bytes]:
    """A block's columns: chunk ids as little-endian int4, term frequencies as float4."""
    return np.asarray(chunks, "<i4").tobytes(), np.asarray(tfs, "<f4").tobytes()


def decode(chunks: bytes, tfs: bytes) -> tuple[np.ndarray, np.ndarray]:
    return np.frombuffer(chunks, "<i4"), np.frombuffer(tfs, "<f4")


def segment(chunk_ids: Sequence[int], token_lists: Sequence[list[str]]) -> Segment:
    """The postings of some chunks (as the embedded index makes them), to be written as blocks on commit."""
    return Segment.build(chunk_ids, token_lists)


def write_blocks(conn: Any, segments: list[Segment], generation: int, dead: np.ndarray) -> None:
    """Write the postings of the chunks this commit added as one block per term (in the writer's transaction);
    a term that would have more than MERGE_AT live blocks gets one block of all its live postings instead, the
    old ones removed in this generation. `dead`: ids of chunks not live in this generation (left out)."""
    segments = [s for s in segments if len(s.terms)]
    if not segments:
        return
    new = segments[0] if len(segments) == 1 else Segment.merge(segments)
    terms = [int(t) for t in new.terms]
    counts = dict(
        conn.execute(
            "SELECT term, count(*) FROM postings WHERE term = ANY(%(terms)s) AND gen_removed IS NULL GROUP BY term",
            {"terms": terms},
        ).fetchall()
    )
    merged = [t for t in terms if counts.get(t, 0) + 1 > MERGE_AT]
    old: dict[int, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    if merged:
        rows = conn.execute(
            "UPDATE postings SET gen_removed = %(g)s WHERE term = ANY(%(terms)s) AND gen_removed IS NULL "
            "RETURNING term, chunks, tfs",
            {"g": generation, "terms": merged},
        ).fetchall()
        for term, chunks, tfs in rows:
            old[term].append(decode(chunks, tfs))
    with (
        conn.cursor() as cur,
        cur.copy("COPY postings (term, gen_added, chunks, tfs) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(["int4", "int8", "bytea", "bytea"])
        for i, term in enumerate(terms):
            chunks, tfs = new.chunks[new.starts[i] : new.starts[i + 1]], new.tfs[new.starts[i] : new.starts[i + 1]]
            if term in old:
                chunks, tfs = joined([*old[term], (chunks, tfs)])
            keep = ~np.isin(chunks, dead)
            if keep.any():
                copy.write_row((term, generation, *encode(chunks[keep], tfs[keep])))


def drop_postings(conn: Any, chunks: list[tuple[int, list[str]]], added: int, removed: int, keep_after: int) -> None:
    """Take chunks that are being pruned, (id, tokens), all added in generation `added` and removed in `removed`,
    out of the blocks that hold them (written from `added` until `removed`, and not themselves removed by
    `keep_after`): those are rewritten without them, or deleted when nothing is left."""
    terms = sorted({int(t) for _, tokens in chunks for t in term_ids(tokens)})
    rows = conn.execute(
        "SELECT term, gen_added, chunks, tfs FROM postings WHERE term = ANY(%(terms)s) AND gen_added >= %(a)s "
        "AND gen_added < %(r)s AND (gen_removed IS NULL OR gen_removed > %(k)s)",
        {"terms": terms, "a": added, "r": removed, "k": keep_after},
    ).fetchall()
    gone = np.asarray([i for i, _ in chunks], np.int64)
    updates, deletes = [], []
    for term, gen, block_chunks, block_tfs in rows:
        ids, tfs = decode(block_chunks, block_tfs)
        keep = ~np.isin(ids, gone)
        if keep.all():
            continue
        if keep.any():
            updates.append((*encode(ids[keep], tfs[keep]), term, gen))
        else:
            deletes.append((term, gen))
    with conn.cursor() as cur:
        cur.executemany("UPDATE postings SET chunks = %s, tfs = %s WHERE term = %s AND gen_added = %s", updates)
        cur.executemany("DELETE FROM postings WHERE term = %s AND gen_added = %s", deletes)


class PgKeywords:
    """The keyword index of one generation of a PostgreSQL store, with KeywordIndex's search interface: the blocks
    of the query's terms are read in one query, their live postings kept (most recently used first)."""

    def __init__(self, pool: Any, generation: int, chunks: int, tokens: int, tokenizer: str, next_id: int) -> None:
        self._pool, self.generation, self.chunks, self.tokens = pool, generation, chunks, tokens
        self.tokenizer, self._next_id = tokenizer, next_id
        self._tokenize = get_tokenizer(tokenizer)
        self._lock = threading.Lock()  # the chat asks from several threads
        self._lengths: np.ndarray | None = None
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cached = 0
        self._asked: list[str] = []

    def __len__(self) -> int:
        return self.chunks

    def query_terms(self, query: str) -> list[str]:
        """The query's distinct tokens (their postings are then read together, on first use)."""
        terms = list(dict.fromkeys(self._tokenize(query)))
        self._asked = terms
        return terms

    def document_frequency(self, term: str) -> int:
        """How many live chunks contain `term` (a token as the tokenizer makes it)."""
        (tid,) = (int(t) for t in term_ids([term]))
        return len(self._postings([tid, *(int(t) for t in term_ids(self._asked))])[tid][0])

    def document_frequencies(self, terms: list[str]) -> dict[str, int]:
        """term → how many live chunks contain it, in one query."""
        ids = [int(t) for t in term_ids(terms)]
        found = self._postings(ids)
        return {term: len(found[tid][0]) for term, tid in zip(terms, ids, strict=True)}

    def search(self, query: str, k: int, within: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The `k` best (chunk_id, BM25 score), best first; chunks sharing no term with the query are left out, and
        with `within` (chunk ids), every chunk not in it."""
        if not self.chunks or k < 1:
            return []
        terms = sorted({int(t) for t in term_ids(self.query_terms(query))})
        if not terms:
            return []
        found = self._postings(terms)
        lengths = self._live_lengths()
        return bm25_top([found[t] for t in terms], lengths, self.chunks, self.tokens / self.chunks, k, within)

    def _live_lengths(self) -> np.ndarray:
        """Token counts by chunk id, 0 for the chunks not live in this generation (read once)."""
        with self._lock:
            if self._lengths is None:
                lengths = np.zeros(self._next_id, np.float32)
                with self._pool.connection() as conn, conn.cursor(binary=True) as cur:
                    rows = cur.execute(
                        f"SELECT c.id, c.length FROM chunks c WHERE {ALIVE.format(t='c')}", {"g": self.generation}
                    ).fetchall()
                if rows:
                    ids, counts = np.array(rows, dtype=np.int64).T
                    lengths[ids] = counts
                self._lengths = lengths
            return self._lengths

    def _postings(self, terms: list[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """term id → (chunk ids, term frequencies) of its postings in live chunks (empty arrays for none)."""
        with self._lock:
            found = {t: self._cache[t] for t in terms if t in self._cache}
            for term in found:
                self._cache.move_to_end(term)
        missing = [t for t in dict.fromkeys(terms) if t not in found]
        if not missing:
            return found
        lengths = self._live_lengths()
        parts: dict[int, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
        with self._pool.connection() as conn, conn.cursor(binary=True) as cur:
            for term, chunks, tfs in cur.execute(BLOCKS, {"terms": missing, "g": self.generation}):
                parts[term].append(decode(chunks, tfs))
        for term in missing:
            chunks, tfs = joined(parts[term])
            live = lengths[chunks] > 0
            found[term] = (chunks[live], tfs[live])
        with self._lock:
            for term in missing:
                if term not in self._cache:
                    self._cache[term] = found[term]
                    self._cached += len(found[term][0])
            while self._cached > CACHED_POSTINGS and len(self._cache) > 1:
                _, (gone, _) = self._cache.popitem(last=False)
                self._cached -= len(gone)
        return found
