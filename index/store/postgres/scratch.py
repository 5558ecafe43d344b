"""A scratch database on a PostgreSQL server: made empty, dropped on leaving (an evaluation's temporary store)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from kbqa.errors import InputError
from kbqa.index.store.postgres.schema import close_pools, connect_options, display
from kbqa.index.store.secrets import one_line


@contextmanager
def temporary_database(server: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server at `server` (its URL), dropped afterwards; its URL."""
    try:
        import psycopg
        from psycopg import sql
    except ImportError:
        raise InputError("--store-url needs psycopg: install the extra with `pip install -e '.[pg]'`") from None
    name = f"kbqa_eval_{os.getpid()}_{int(time.time() * 1000) % 10**9}"
    try:
        with psycopg.connect(server, autocommit=True, **connect_options()) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        reason = one_line(exc, server, last=True)
        raise InputError(f"cannot make a database for the evaluation on {display(server)}: {reason}") from None
    url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    try:
        yield url
    finally:
        close_pools(url)
        with psycopg.connect(server, autocommit=True, **connect_options()) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
