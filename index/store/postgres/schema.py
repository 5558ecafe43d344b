"""The PostgreSQL store's tables, its manifest (the `store` row) and per-process connection pools (psycopg 3)."""

from __future__ import annotations

import atexit
import os
import threading
import zlib
from dataclasses import dataclass
from typing import Any

from kbqa.config import Settings
from kbqa.errors import IndexMissingError, InputError
from kbqa.index.store.api import display
from kbqa.index.store.secrets import one_line

FORMAT = 2  # 2: postings in blocks per term and commit (1: a row per chunk and term)
SCHEMA = "kbqa"  # the PostgreSQL schema holding a store's tables: one database can hold several stores
KEEP_GENERATIONS = 10  # removed rows stay this many generations, so lagging readers still find them
# A row is live in generation :g from gen_added to gen_removed (documents and their chunks carry both)
ALIVE = "{t}.gen_added <= %(g)s AND ({t}.gen_removed IS NULL OR {t}.gen_removed > %(g)s)"
# The chunks not live in generation :g: those added after it, and those removed (kept KEEP_GENERATIONS)
DEAD = "SELECT id FROM chunks WHERE gen_added > %(g)s OR gen_removed <= %(g)s"

STORE_TABLE = """
CREATE TABLE store (
    id int PRIMARY KEY CHECK (id = 1), format int NOT NULL, embedder text NOT NULL, dim int NOT NULL,
    generation bigint NOT NULL, documents bigint NOT NULL, chunks bigint NOT NULL, tokens bigint NOT NULL,
    next_id bigint NOT NULL, tokenizer text NOT NULL, created double precision NOT NULL
);
CREATE TABLE documents (
    key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, doc_id text NOT NULL, source text NOT NULL,
    path text NOT NULL, title text NOT NULL, date text NOT NULL, source_line text NOT NULL, kind text NOT NULL,
    text text NOT NULL, hash text NOT NULL, added double precision NOT NULL, gen_added bigint NOT NULL,
    gen_removed bigint, marks text NOT NULL DEFAULT '[]', meta text NOT NULL DEFAULT '{}', published timestamptz
);
CREATE INDEX documents_id ON documents (doc_id);
CREATE INDEX documents_source ON documents (source, key);
CREATE INDEX documents_removed ON documents (gen_removed);
CREATE INDEX documents_published ON documents (published);
-- BM25 postings in blocks (see keywords.py): per term (index/keyword.py's hashed id), the chunk ids (int4) and
-- term frequencies (float4) of the chunks one commit added, packed little-endian; tagged with generations as the
-- chunks are, and merged into one block when a term has more than MERGE_AT
CREATE TABLE postings (
    term int NOT NULL, gen_added bigint NOT NULL, gen_removed bigint, chunks bytea NOT NULL, tfs bytea NOT NULL,
    PRIMARY KEY (term, gen_added)
);
CREATE INDEX postings_removed ON postings (gen_removed);
"""
# chunk ids are the writer's (store.next_id), in the order documents are added, as the embedded engine's
CHUNKS_TABLE = """
CREATE TABLE chunks (
    id bigint PRIMARY KEY, doc_key bigint NOT NULL REFERENCES documents (key), ord int NOT NULL,
    start int NOT NULL, "end" int NOT NULL, text text NOT NULL, hash text NOT NULL, length int NOT NULL,
    gen_added bigint NOT NULL, gen_removed bigint, embedding vector({dim}) NOT NULL
);
CREATE INDEX chunks_doc ON chunks (doc_key);
CREATE INDEX chunks_added ON chunks (gen_added);
CREATE INDEX chunks_removed ON chunks (gen_removed);
CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_ip_ops);
"""


def lock_key(schema: str) -> int:
    """The advisory lock writers of `schema` take (a signed 64-bit number)."""
    return zlib.crc32(f"kbqa-writer:{schema}".encode())


# Read from the catalog's rows, not with to_regclass: a transaction that began before another one created the
# schema resolves names through a search_path computed without it (to_regclass takes no lock, so it never picks
# up the change), and a writer that waited for the lock would take the new store for none and reuse chunk ids
TABLES = """
SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = ANY(%s)
"""


def has_tables(conn: Any, schema: str, names: tuple[str, ...] = ("store", "chunks")) -> bool:
    """Whether the store's tables (all of `names`) exist in `schema`."""
    return conn.execute(TABLES, (schema, list(names))).fetchone()[0] == len(names)


COLUMN = """
SELECT count(*) FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s AND a.attname = %s AND NOT a.attisdropped
"""
# Columns added after FORMAT 2, by the first writer that opens an older store (readers read NULL in their place
# until then); no format bump, since an old store needs no rebuild: its documents get them on their next write
ADDED_COLUMNS = {
    "published": (
        "ALTER TABLE documents ADD COLUMN IF NOT EXISTS published timestamptz",
        "CREATE INDEX IF NOT EXISTS documents_published ON documents (published)",
    ),
}


def has_column(conn: Any, schema: str, table: str, column: str) -> bool:
    """Whether `table` of `schema` has `column` (read from the catalog, as has_tables)."""
    return conn.execute(COLUMN, (schema, table, column)).fetchone()[0] > 0


def add_columns(location: str, schema: str) -> None:
    """Add the columns an older store lacks (ADDED_COLUMNS), each in a short transaction of its own connection:
    in the writer's long one, the ALTER's lock would keep readers waiting until its commit."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(location, autocommit=True, **connect_options()) as conn:
        conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
        for column, statements in ADDED_COLUMNS.items():
            if has_column(conn, schema, "documents", column):
                continue
            with conn.transaction():
                for statement in statements:
                    conn.execute(statement)


def create_tables(conn: Any, schema: str, dim: int) -> None:
    """The extension, schema and tables (inside the caller's transaction)."""
    from psycopg import sql

    if has_tables(conn, schema):
        return
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(""),))  # stores of other schemas being made
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public")
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    if not has_tables(conn, schema, ("store",)):
        conn.execute(STORE_TABLE)
    if not has_tables(conn, schema, ("chunks",)):
        create_chunks(conn, dim)


def drop_tables(conn: Any) -> None:
    """Drop the store's tables (a rebuild of a store another kbqa made)."""
    conn.execute("DROP TABLE IF EXISTS postings, chunks, documents, store")


def create_chunks(conn: Any, dim: int) -> None:
    """The chunks table for vectors of `dim` numbers (dropped first if it exists: a rebuild with another dim)."""
    conn.execute("DROP TABLE IF EXISTS chunks")
    conn.execute(CHUNKS_TABLE.format(dim=int(dim)))


_pools: dict[tuple[str, str, int], Any] = {}
_pools_lock = threading.Lock()


def pool(location: str, schema: str = SCHEMA, size: int = Settings.pg_pool, settings: Settings | None = None) -> Any:
    """This process's connection pool for the store at `location` (autocommit connections whose search_path is
    the store's schema, then public for pgvector's type); `size`: its connections at most (the pg_pool setting;
    the first call for a location sets it, as it does the timeouts of `settings`: see connect_options)."""
    try:
        import pgvector.psycopg  # noqa: F401 - the writer's vector type
        from psycopg_pool import ConnectionPool
    except ImportError as exc:
        raise InputError(
            f"a postgresql:// store needs {exc.name}: install the extra with `pip install -e '.[pg]'`"
        ) from None
    key = (location, schema, os.getpid())  # a forked child makes its own connections
    with _pools_lock:
        found = _pools.get(key)
        if found is None:

            def configure(conn: Any) -> None:
                from psycopg import sql

                conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))

            limits = connect_options(settings)
            _reachable(location, limits)
            found = ConnectionPool(
                location,
                min_size=1,
                max_size=size,
                kwargs={"autocommit": True, **limits},
                configure=configure,
                open=False,
                name=f"kbqa-{schema}",
            )
            found.open(wait=True, timeout=max(30, 2 * limits["connect_timeout"]))
            _pools[key] = found
        return found


def connect_options(settings: Settings | None = None) -> dict[str, Any]:
    """psycopg's connection options for the timeout settings (pg_connect_timeout, pg_statement_timeout,
    pg_lock_timeout; their defaults when not given — the caller reads the settings, never this module): a server
    that does not answer fails the connect, a statement or lock wait past its limit fails the statement (0: no
    limit)."""
    settings = settings or Settings()
    statement = int(settings.pg_statement_timeout * 1000)
    lock = int(settings.pg_lock_timeout * 1000)
    return {
        "connect_timeout": max(1, round(settings.pg_connect_timeout)),  # libpq: whole seconds, at least 1 (0 = none)
        "options": f"-c statement_timeout={statement} -c lock_timeout={lock}",
    }


def _reachable(location: str, limits: dict[str, Any] | None = None) -> None:
    """A one-line error when no PostgreSQL server answers at `location` within the connect timeout (the pool would
    retry for 30 s); its text scrubbed of any password."""
    import psycopg

    try:
        psycopg.connect(location, **(limits or connect_options())).close()
    except psycopg.Error as exc:
        reason = one_line(exc, location, last=True)
        raise InputError(f"cannot connect to the store {display(location)}: {reason}") from None


def close_pools(location: str | None = None) -> None:
    """Close this process's pools (for `location` only, if given); the next use opens new ones."""
    with _pools_lock:
        for key in [k for k in _pools if location in (None, k[0])]:
            each = _pools.pop(key)
            if key[2] == os.getpid():
                each.close()


atexit.register(close_pools)


MANIFEST = "SELECT embedder, dim, documents, chunks, generation, created, tokens, next_id, tokenizer, format FROM store"


@dataclass(frozen=True)
class PgManifest:
    """What a committed generation holds and which embedder made its vectors (the `store` row)."""

    embedder: str
    dim: int
    documents: int
    chunks: int
    generation: int
    created: float
    tokens: int = 0  # keyword tokens of the live chunks (BM25's average length is tokens / chunks)
    next_id: int = 0  # the id the next chunk gets
    tokenizer: str = "bigram"
    format: int = FORMAT
    data: str = ""  # the embedded engine's fields, empty here
    ann: str = ""


def read_manifest(conn: Any, schema: str = SCHEMA) -> PgManifest | None:
    """The committed generation's manifest, or None when the database holds no index (in `schema`)."""
    if not has_tables(conn, schema):
        return None
    row = conn.execute(MANIFEST).fetchone()
    if row is None:
        return None
    manifest = PgManifest(*row)
    if manifest.format != FORMAT:
        raise IndexMissingError(
            f"the index in {display(conn.info.dsn)} was made by another kbqa (format {manifest.format}): "
            "rebuild it with `kbqa index --rebuild`"
        )
    return manifest
