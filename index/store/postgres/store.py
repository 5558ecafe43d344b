"""The PostgreSQL + pgvector store: a reader of one committed generation, and the engine's factories.

Documents, chunks (with their vectors in a pgvector column under an HNSW index) and BM25 postings (in blocks,
keywords.py) live in one database, in the schema `kbqa` (tables in schema.py). Rows carry the generation that added
and the one that removed them; the `store` row names the committed generation and is updated in the writer's
transaction (writer.py), so a reader, which reads rows live in the generation it holds, sees the index as one
commit left it until `refresh()` moves it to a newer one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from kbqa.config import Settings
from kbqa.errors import IndexMissingError, check_embedder
from kbqa.index import dates
from kbqa.index.records import Passage
from kbqa.index.store.api import Hit
from kbqa.index.store.postgres.keywords import PgKeywords
from kbqa.index.store.postgres.schema import ALIVE, SCHEMA, display, has_column, pool, read_manifest
from kbqa.index.store.rows import (
    DOCUMENT_COLUMNS,
    PASSAGE_COLUMNS,
    STORED_CHUNK_COLUMNS,
    STORED_COLUMNS,
    DocumentInfo,
    StoredDocument,
    document_info,
    passage,
    published_text,
    stored_document,
    without_published,
)

PASSAGE = "SELECT {columns} FROM chunks c JOIN documents d ON d.key = c.doc_key"
# The nearest live chunks by inner product (vectors are L2-normalised: the cosine), as the embedded engine's
# IndexFlatIP; HNSW's iterative scan goes on past rows the generation filter drops (written so that no btree
# index serves the filter: above the exact limit the HNSW index is the only way left). `{within}`: "" or
# WITHIN, the chunks a search is restricted to
NEAREST = """
WITH nn AS MATERIALIZED (
    SELECT c.id, c.embedding <#> %(q)s::vector AS distance FROM chunks c
    WHERE c.gen_added + 0 <= %(g)s AND coalesce(c.gen_removed, %(g)s + 1) > %(g)s{within}
    ORDER BY c.embedding <#> %(q)s::vector LIMIT %(k)s
)
SELECT nn.id, -nn.distance FROM nn ORDER BY nn.distance, nn.id
"""
WITHIN = " AND c.id = ANY(%(within)s)"
# live chunks searched exactly (a scan of their rows) up to here, as the embedded engine does below its own
# ann.EXACT_LIMIT; above, the HNSW index (measured at 5,000 chunks: exact 12 ms, HNSW 5 ms a query)
EXACT_LIMIT = 2_000
# a search restricted to this many chunks or fewer (`within`) scores them exactly (their rows by primary key), as
# an unrestricted one below EXACT_LIMIT; more go through the HNSW index's iterative scan with the filter, and
# exactly again when it finds fewer than k
WITHIN_EXACT = EXACT_LIMIT


class PgStore:
    """A read-only view of one committed generation of a PostgreSQL store; `refresh()` moves to a newer one."""

    def __init__(
        self,
        location: str,
        vectors: bool = True,
        schema: str = SCHEMA,
        pool_size: int = Settings.pg_pool,
        settings: Settings | None = None,
    ) -> None:
        self.location, self.schema = location, schema
        self.root = display(location)
        self._pool = pool(location, schema, pool_size, settings)
        with self._pool.connection() as conn:
            manifest = read_manifest(conn, self.schema)
        if manifest is None:
            raise IndexMissingError(f"no index at {self.root}: build one with `kbqa index [PATH ...]`")
        self.manifest = manifest
        self.has_published = False
        self._published_range: tuple[int, tuple[str | None, str | None]] | None = None  # (generation, range)
        self._check_columns()

    def _check_columns(self) -> None:
        """Note whether the documents table has `published` (a store made before it gets it from its next writer)."""
        if not self.has_published:
            with self._pool.connection() as conn:
                self.has_published = has_column(conn, self.schema, "documents", "published")

    def _columns(self, columns: str) -> str:
        return columns if self.has_published else without_published(columns)

    def refresh(self) -> bool:
        """Move to a newer committed generation if a writer made one; True if it did."""
        with self._pool.connection() as conn:
            manifest = read_manifest(conn, self.schema)
        if manifest is None or manifest.generation == self.manifest.generation:
            return False
        self.manifest = manifest
        self._check_columns()
        return True

    def check_embedder(self, embedder_id: str) -> None:
        """A one-line error when the index was built by another embedder than `embedder_id`."""
        check_embedder(self.root, self.manifest.embedder, embedder_id)

    def search(self, query: np.ndarray, k: int, within: np.ndarray | None = None) -> list[Hit]:
        """The `k` chunks nearest to `query` (an L2-normalised vector), best first: exact up to EXACT_LIMIT live
        chunks, through the HNSW index above. With `within` (chunk ids, e.g. `chunks_published`'s): the `k`
        nearest of those, exactly when they are few (WITHIN_EXACT), else through the HNSW index, and exactly
        again when that finds fewer than k."""
        if self.manifest.chunks == 0 or k < 1:
            return []
        if within is None:
            return [Hit(int(r[0]), float(r[1])) for r in self._nearest(query, k, "")]
        ids = [int(i) for i in np.unique(np.asarray(within, dtype=np.int64))]
        if not ids:
            return []
        exact = len(ids) <= WITHIN_EXACT
        rows = self._nearest(query, k, "", ids, exact)
        if not exact and len(rows) < min(k, len(ids)):
            rows = self._nearest(query, k, "", ids, True)
        return [Hit(int(r[0]), float(r[1])) for r in rows]

    def explain_search(self, query: np.ndarray, k: int, within: np.ndarray | None = None) -> str:
        """PostgreSQL's plan for `search(query, k, within)` (whether it goes through the HNSW index)."""
        ids = None if within is None else [int(i) for i in np.unique(np.asarray(within, dtype=np.int64))]
        exact = ids is not None and len(ids) <= WITHIN_EXACT
        return "\n".join(r[0] for r in self._nearest(query, k, "EXPLAIN ", ids, exact))

    def _nearest(
        self, query: np.ndarray, k: int, prefix: str, within: list[int] | None = None, exact: bool = False
    ) -> list[tuple]:
        manifest = self.manifest
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        params = {"q": "[" + ",".join(map(repr, q.tolist())) + "]", "k": max(1, min(k, manifest.chunks))}
        params["g"] = manifest.generation
        if within is not None:
            params["within"] = within
        with self._pool.connection() as conn, conn.transaction():
            if manifest.chunks <= EXACT_LIMIT or exact:  # within: the rows found by their ids (a bitmap scan)
                conn.execute("SET LOCAL enable_indexscan = off")
            else:  # the planner may think a scan of the rows cheaper than the index when the filter drops many
                conn.execute("SET LOCAL enable_seqscan = off")
                conn.execute(f"SET LOCAL hnsw.ef_search = {min(1000, max(100, 2 * k))}")
                conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            sql = NEAREST.format(within="" if within is None else WITHIN)
            return conn.execute(prefix + sql, params).fetchall()

    def chunks_published(self, since: str | None, until: str | None) -> np.ndarray:
        """The sorted ids of this generation's chunks whose document was published in [since, until] (ISO 8601;
        either bound may be None; undated documents are left out when a bound is given)."""
        where = [ALIVE.format(t="c")]
        params: dict[str, Any] = {"g": self.manifest.generation}
        if since is not None or until is not None:
            if not self.has_published:
                return np.zeros(0, np.int64)
            where.append("d.published IS NOT NULL")
        for name, bound, op in (("since", since, ">="), ("until", until, "<=")):
            if bound is not None:
                params[name] = dates.instant(bound)
                where.append(f"d.published {op} %({name})s")
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT c.id FROM chunks c JOIN documents d ON d.key = c.doc_key WHERE "
                + " AND ".join(where)
                + " ORDER BY c.id",
                params,
            ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def published_range(self) -> tuple[str | None, str | None]:
        """The earliest and latest publication time of this generation's documents ((None, None): none dated); read
        once per generation."""
        if not self.has_published:
            return None, None
        generation = self.manifest.generation
        if self._published_range is not None and self._published_range[0] == generation:
            return self._published_range[1]
        with self._pool.connection() as conn:
            first, last = conn.execute(
                f"SELECT min(d.published), max(d.published) FROM documents d WHERE {ALIVE.format(t='d')}",
                {"g": generation},
            ).fetchone()
        self._published_range = (generation, (published_text(first), published_text(last)))
        return self._published_range[1]

    def chunk_texts(self) -> tuple[list[int], list[str]]:
        """(ids, texts as embedded and keyword-indexed: title first) of this generation's chunks."""
        from kbqa.index.chunking import titled

        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT c.id, d.title, c.text FROM chunks c JOIN documents d ON d.key = c.doc_key "
                f"WHERE {ALIVE.format(t='c')} ORDER BY c.id",
                {"g": self.manifest.generation},
            ).fetchall()
        return [r[0] for r in rows], [titled(title, text) for _, title, text in rows]

    def passages(self, chunk_ids: Sequence[int]) -> dict[int, Passage]:
        """Chunk id → passage with its document's metadata and unquotable spans (score 0)."""
        if not len(chunk_ids):
            return {}
        with self._pool.connection() as conn:
            select = PASSAGE.format(columns=self._columns(PASSAGE_COLUMNS))
            rows = conn.execute(f"{select} WHERE c.id = ANY(%s)", ([int(i) for i in chunk_ids],)).fetchall()
        return {r[0]: passage(r) for r in rows}

    def documents(self) -> list[DocumentInfo]:
        """Every document with its chunk count, in source order."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {self._columns(DOCUMENT_COLUMNS)} FROM documents d WHERE {ALIVE.format(t='d')} "
                "ORDER BY d.source, d.key",
                {"g": self.manifest.generation},
            ).fetchall()
        return [document_info(row) for row in rows]

    def document_hashes(self) -> dict[str, str]:
        """doc_id → the hash each of this generation's documents was stored under (build.indexed_hash)."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT d.doc_id, d.hash FROM documents d WHERE {ALIVE.format(t='d')}",
                {"g": self.manifest.generation},
            ).fetchall()
        return dict(rows)

    def document_text(self, doc_id: str) -> str | None:
        """A document's cleaned text (the context of its passages' offsets)."""
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT d.text FROM documents d WHERE d.doc_id = %(id)s AND {ALIVE.format(t='d')}",
                {"id": doc_id, "g": self.manifest.generation},
            ).fetchone()
        return row[0] if row else None

    def document_records(self, batch: int = 500) -> Iterator[StoredDocument]:
        """Each document of this generation as written, with its chunks and their ids, in the order they were added."""
        g = {"g": self.manifest.generation}
        with self._pool.connection() as conn:
            keys = [r[0] for r in conn.execute(f"SELECT d.key FROM documents d WHERE {ALIVE.format(t='d')} "
                                               "ORDER BY d.key", g)]  # fmt: skip
        for at in range(0, len(keys), batch):
            some = keys[at : at + batch]
            with self._pool.connection() as conn:
                rows = conn.execute(
                    f"SELECT {STORED_COLUMNS}, d.marks, d.meta, {self._columns('d.published')} FROM documents d "
                    "WHERE d.key = ANY(%s) ORDER BY d.key",
                    (some,),
                ).fetchall()
                chunks: dict[int, list[tuple]] = {k: [] for k in some}
                for row in conn.execute(
                    f"SELECT {STORED_CHUNK_COLUMNS} FROM chunks WHERE doc_key = ANY(%s) ORDER BY id", (some,)
                ):
                    chunks[row[0]].append(row[1:])
            for row in rows:
                yield stored_document(row, chunks[row[0]])

    def vectors(self, chunk_ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of `chunk_ids` (one row each, in that order)."""
        from pgvector.psycopg import register_vector

        ids = [int(i) for i in chunk_ids]
        out = np.zeros((len(ids), self.manifest.dim), np.float32)
        if not ids:
            return out
        with self._pool.connection() as conn:
            register_vector(conn)
            with conn.cursor(binary=True) as cur:
                found = dict(cur.execute("SELECT id, embedding FROM chunks WHERE id = ANY(%s)", (ids,)).fetchall())
        for n, i in enumerate(ids):
            vector = found[i]
            out[n] = vector.to_numpy() if hasattr(vector, "to_numpy") else vector
        return out

    def keywords(self) -> PgKeywords:
        """The keyword (BM25) index of this generation: its postings read from the database, scored here."""
        m = self.manifest
        return PgKeywords(self._pool, m.generation, m.chunks, m.tokens, m.tokenizer, m.next_id)

    def close(self) -> None:
        """Nothing to release: connections belong to the process's pool for this location."""


def open_store(location: str, **kw: Any) -> PgStore:
    """The reader of the PostgreSQL store at `location` (kw: `vectors`, ignored here; `schema`; `pool_size`;
    `settings`: the timeouts)."""
    return PgStore(location, **kw)


def open_writer(
    location: str,
    embedder_id: str | None,
    dim: int | None,
    rebuild: bool = False,
    wait: float = Settings.lock_wait,
    **kw: Any,
) -> Any:
    """The writer of the PostgreSQL store at `location` (kw: `schema`, `pool_size`, `settings`); see
    index/store/postgres/writer.py."""
    from kbqa.index.store.postgres.writer import PgStoreWriter

    return PgStoreWriter(location, embedder_id, dim, rebuild=rebuild, wait=wait, **kw)
