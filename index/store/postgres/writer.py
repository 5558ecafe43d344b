"""The PostgreSQL store's writer: one transaction per generation, writers serialised by an advisory lock.

The writer takes a connection from the pool, begins a transaction and takes `pg_advisory_xact_lock` (a second
writer waits up to `wait` seconds, saying so, then fails with StoreLockedError). Everything it adds and removes
is written into that transaction, tagged with the new generation; `commit()` then updates the `store` row and
commits, so readers see all of it or none of it; `abort()` (or any failure) rolls it back.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kbqa.config import Settings
from kbqa.errors import IndexMissingError, StoreLockedError, check_embedder
from kbqa.index.chunking import titled
from kbqa.index.records import ChunkRecord, DocRecord
from kbqa.index.store.postgres.keywords import drop_postings, segment, write_blocks
from kbqa.index.store.postgres.schema import (
    ALIVE,
    FORMAT,
    KEEP_GENERATIONS,
    SCHEMA,
    PgManifest,
    add_columns,
    create_chunks,
    create_tables,
    display,
    drop_tables,
    has_column,
    lock_key,
    read_manifest,
)
from kbqa.index.store.postgres.schema import pool as pool_for
from kbqa.index.store.rows import DOCUMENT_COLUMNS, DocumentInfo, document_info
from kbqa.text.tokenize import DEFAULT_TOKENIZER, get_tokenizer

log = logging.getLogger(__name__)

ALIVE_D = ALIVE.format(t="d")
# a commit adding this many chunks (or a tenth of the index) analyses the tables: without statistics the
# planner scanned every chunk for the few not live (BM25 at 5,000 chunks: 10 ms, 1 ms after ANALYZE)
ANALYZE_AT = 500
FLUSH_CHUNKS = 2000  # chunks buffered before they are copied to the server
CHUNK_COLUMNS = 'id, doc_key, ord, start, "end", text, hash, length, gen_added, embedding'
CHUNK_TYPES = ["int8", "int8", "int4", "int4", "int4", "text", "text", "int4", "int8", "vector"]
COUNTS = f"""
SELECT (SELECT count(*) FROM documents d WHERE {ALIVE_D}),
       (SELECT count(*) FROM chunks c WHERE {ALIVE.format(t="c")}),
       (SELECT coalesce(sum(length), 0) FROM chunks c WHERE {ALIVE.format(t="c")})
"""


class PgStoreWriter:
    """Writes the next generation of a PostgreSQL store in one transaction and commits it on `commit()`.

    `embedder_id=None` keeps the index's embedder (for removals, which embed nothing)."""

    def __init__(
        self,
        location: str,
        embedder_id: str | None,
        dim: int | None,
        rebuild: bool = False,
        wait: float = Settings.lock_wait,
        schema: str = SCHEMA,
        pool_size: int = Settings.pg_pool,
        settings: Settings | None = None,
    ) -> None:
        self.root = display(location)
        self.location = location
        self._pool = pool_for(location, schema, pool_size, settings)
        self.conn = self._pool.getconn()
        try:
            self.conn.autocommit = False
            self._lock(schema, wait)
            self._open(schema, embedder_id, dim, rebuild)
        except BaseException:
            self._release(commit=False)
            raise

    def _lock(self, schema: str, wait: float) -> None:
        import psycopg

        key = lock_key(schema)
        if self.conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (key,)).fetchone()[0]:
            return
        if wait <= 0:
            raise StoreLockedError(f"{self.root} is being written by another process; try again later")
        log.info("waiting for another process writing %s ...", self.root)
        self.conn.execute(f"SET LOCAL lock_timeout = {max(1, int(wait * 1000))}")
        self.conn.execute("SET LOCAL statement_timeout = 0")  # the wait is lock_wait's, not pg_statement_timeout's
        try:
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        except psycopg.errors.LockNotAvailable:
            raise StoreLockedError(f"{self.root} is being written by another process; try again later") from None
        self.conn.execute("SET LOCAL lock_timeout TO DEFAULT")
        self.conn.execute("SET LOCAL statement_timeout TO DEFAULT")

    def _open(self, schema: str, embedder_id: str | None, dim: int | None, rebuild: bool) -> None:
        from pgvector.psycopg import register_vector

        try:
            previous = read_manifest(self.conn, schema)
        except IndexMissingError:  # made by another kbqa: only a rebuild goes on, from nothing
            if not rebuild:
                raise
            drop_tables(self.conn)
            previous = None
        base = None if rebuild else previous
        if base is None and embedder_id is None:
            raise IndexMissingError(f"no index at {self.root}: build one with `kbqa index [PATH ...]`")
        if base:
            check_embedder(self.root, base.embedder, embedder_id, writing=True)
        self.generation = (previous.generation if previous else 0) + 1
        self._chunks: list[tuple] = []  # rows not yet copied to the server (_flush)
        self._tokens: list[list[str]] = []  # their keyword tokens, made into a segment at _flush
        self._segments: list = []  # the postings of the chunks added, written as blocks at commit
        self._buffered: set[str] = set()  # the doc ids they belong to
        self._added = 0  # chunks added by this writer
        self.embedder_id, self.dim = (base.embedder, base.dim) if base else (embedder_id, int(dim))
        create_tables(self.conn, schema, self.dim)
        if not has_column(self.conn, schema, "documents", "published"):  # a store made before the column
            add_columns(self.location, schema)
        register_vector(self.conn)
        self._tokenizer = base.tokenizer if base else DEFAULT_TOKENIZER
        self._tokenize = get_tokenizer(self._tokenizer)
        self._next_id = previous.next_id if previous else 0
        if previous is None:
            self.conn.execute(
                "INSERT INTO store VALUES (1, %s, %s, %s, 0, 0, 0, 0, 0, %s, %s) ON CONFLICT (id) DO NOTHING",
                (FORMAT, self.embedder_id, self.dim, self._tokenizer, time.time()),
            )
        elif rebuild and previous.dim != self.dim:  # vector(dim) changes: nothing of the old index can stay
            self.conn.execute("DELETE FROM postings")
            create_chunks(self.conn, self.dim)
            self.conn.execute("DELETE FROM documents")
        elif rebuild:  # readers of the old generation keep finding its rows until they refresh
            self._remove_where(f"{ALIVE_D}")
            self.conn.execute("UPDATE postings SET gen_removed = %s WHERE gen_removed IS NULL", (self.generation,))
        self._base = base
        self._dirty = base is None

    def documents(self) -> list[DocumentInfo]:
        """The documents of the generation being written."""
        self._flush()
        rows = self.conn.execute(
            f"SELECT {DOCUMENT_COLUMNS} FROM documents d WHERE {ALIVE_D} ORDER BY d.key", {"g": self.generation}
        ).fetchall()
        return [document_info(row) for row in rows]

    def document_hashes(self) -> dict[str, str]:
        """doc_id → the hash each document of the generation being written was stored under."""
        self._flush()
        rows = self.conn.execute(f"SELECT d.doc_id, d.hash FROM documents d WHERE {ALIVE_D}", {"g": self.generation})
        return dict(rows.fetchall())

    def add(
        self,
        doc: DocRecord,
        chunks: Sequence[ChunkRecord],
        vectors: np.ndarray,
        path: str | None = None,
        stored_hash: str | None = None,
    ) -> None:
        """Add (or replace) a document with its chunks, their vectors and their keyword postings.

        `path` is the file's resolved absolute path; by default `doc.source` resolved against the cwd.
        `stored_hash` is what `document_hashes` returns for it later; by default the document's content hash."""
        self.remove([doc.doc_id])
        path = path or str(Path(doc.source).resolve())
        marks = json.dumps([list(span) for span in doc.marks])
        meta = json.dumps({k: v for k, v in (("author", doc.author), ("pages", list(doc.pages))) if v})
        (key,) = self.conn.execute(
            "INSERT INTO documents (doc_id, source, path, title, date, source_line, kind, text, hash, added, "
            "gen_added, marks, meta, published) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s::timestamptz) "
            "RETURNING key",
            (doc.doc_id, doc.source, path, doc.title, doc.date, doc.source_line, doc.kind, doc.text,
             stored_hash or doc.hash, time.time(), self.generation, marks, meta, doc.published),
        ).fetchone()  # fmt: skip
        if len(chunks):
            vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(chunks), self.dim)
            for chunk, vector in zip(chunks, vectors, strict=True):
                tokens = self._tokenize(titled(doc.title, chunk.text))
                row = (self._next_id, key, chunk.ord, chunk.start, chunk.end, chunk.text, chunk.hash, len(tokens))
                self._chunks.append((*row, self.generation, vector))
                self._tokens.append(tokens)
                self._next_id += 1
                self._added += 1
            self._buffered.add(doc.doc_id)
            if len(self._chunks) >= FLUSH_CHUNKS:
                self._flush()
        self._dirty = True

    def _flush(self) -> None:
        """Copy the buffered chunks into the transaction (binary COPY: parsing vectors as text took the server 4
        times as long) and keep their postings for the commit (a segment: the token lists of a whole build held
        at once took gigabytes)."""
        if not self._chunks:
            return
        with (
            self.conn.cursor() as cur,
            cur.copy(f"COPY chunks ({CHUNK_COLUMNS}) FROM STDIN WITH (FORMAT BINARY)") as copy,
        ):
            copy.set_types(CHUNK_TYPES)
            for row in self._chunks:
                copy.write_row(row)
        self._segments.append(segment([row[0] for row in self._chunks], self._tokens))
        self._chunks.clear()
        self._tokens.clear()
        self._buffered.clear()

    def remove(self, doc_ids: Iterable[str]) -> int:
        """Remove documents (from the generation being written); returns how many were there."""
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return 0
        if not self._buffered.isdisjoint(ids):  # a document this writer added, replaced or removed again
            self._flush()
        return self._remove_where(f"d.doc_id = ANY(%(ids)s) AND {ALIVE_D}", ids=ids)

    def _remove_where(self, where: str, **params: Any) -> int:
        keys = [
            r[0]
            for r in self.conn.execute(
                f"UPDATE documents d SET gen_removed = %(g)s WHERE {where} RETURNING d.key",
                {"g": self.generation, **params},
            )
        ]
        if keys:
            self.conn.execute(
                "UPDATE chunks SET gen_removed = %(g)s WHERE doc_key = ANY(%(keys)s) AND gen_removed IS NULL",
                {"g": self.generation, "keys": keys},
            )
            self._dirty = True
        return len(keys)

    def commit(self) -> PgManifest:
        """Update the `store` row to the new generation and commit: readers see every change of it at once.

        A writer that changed nothing makes no new generation and returns the committed manifest."""
        if not self._dirty and self._base is not None:
            self.abort()
            return self._base
        self._flush()
        dead = [r[0] for r in self.conn.execute("SELECT id FROM chunks WHERE gen_removed IS NOT NULL")]
        write_blocks(self.conn, self._segments, self.generation, np.asarray(dead, np.int64))
        self._segments.clear()
        documents, chunks, tokens = self.conn.execute(COUNTS, {"g": self.generation}).fetchone()
        if self._added >= ANALYZE_AT or self._added * 10 > chunks:  # keep the planner's row counts in step
            self.conn.execute("ANALYZE documents, chunks, postings")
        self._prune()
        manifest = PgManifest(
            self.embedder_id, self.dim, documents, chunks, self.generation, time.time(), int(tokens), self._next_id,
            self._tokenizer, FORMAT,
        )  # fmt: skip
        self.conn.execute(
            "UPDATE store SET format = %s, embedder = %s, dim = %s, documents = %s, chunks = %s, generation = %s, "
            "created = %s, tokens = %s, next_id = %s, tokenizer = %s",
            (FORMAT, manifest.embedder, manifest.dim, documents, chunks, manifest.generation, manifest.created,
             manifest.tokens, manifest.next_id, manifest.tokenizer),
        )  # fmt: skip
        self._release(commit=True)
        return manifest

    def _prune(self) -> None:
        """Forget rows removed more than KEEP_GENERATIONS generations ago, and the postings of those chunks."""
        old = {"old": self.generation - KEEP_GENERATIONS}
        spans = self.conn.execute(
            "SELECT DISTINCT gen_added, gen_removed FROM chunks WHERE gen_removed <= %(old)s", old
        )
        for added, removed in spans.fetchall():
            blocks = self.conn.execute(  # none, after a rebuild: its blocks are removed with the chunks
                "SELECT EXISTS (SELECT 1 FROM postings WHERE gen_added >= %s AND gen_added < %s "
                "AND (gen_removed IS NULL OR gen_removed > %s))",
                (added, removed, old["old"]),
            ).fetchone()[0]
            if blocks:
                rows = self.conn.execute(
                    "SELECT c.id, d.title, c.text FROM chunks c JOIN documents d ON d.key = c.doc_key "
                    "WHERE c.gen_added = %s AND c.gen_removed = %s",
                    (added, removed),
                ).fetchall()
                tokens = [(i, self._tokenize(titled(title, text))) for i, title, text in rows]
                drop_postings(self.conn, tokens, added, removed, old["old"])
        self.conn.execute("DELETE FROM postings WHERE gen_removed <= %(old)s", old)
        self.conn.execute("DELETE FROM chunks WHERE gen_removed <= %(old)s", old)
        self.conn.execute(
            "DELETE FROM documents d WHERE gen_removed <= %(old)s "
            "AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.doc_key = d.key)",
            old,
        )

    def abort(self) -> None:
        """Forget the uncommitted generation; the committed index is untouched."""
        self._release(commit=False)

    def _release(self, commit: bool) -> None:
        if self.conn is None:
            return
        conn, self.conn = self.conn, None
        try:
            if commit:
                conn.commit()
            else:
                conn.rollback()
            conn.autocommit = True
        finally:
            self._pool.putconn(conn)

    def __enter__(self) -> PgStoreWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is not None and self.conn is not None:
            self.abort()
