"""Vectors already computed, keyed by embedder id + text hash, shared by every store of a user."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

log = logging.getLogger(__name__)

CACHE_FILE = "embeddings.sqlite"  # <cache>/embeddings.sqlite; stores before issue 11 kept one each in <store>/
_DAMAGED = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB: the file is not a usable database
T = TypeVar("T")


def cache_path(cache_dir: str | Path) -> Path:
    """The shared cache file inside the `cache` setting's folder."""
    return Path(cache_dir) / CACHE_FILE


def _retry_busy(statement: Callable[[], T], attempts: int = 100) -> T:
    """Run `statement`, retrying while another process holds the file: SQLite's busy timeout does not cover
    switching a new file to WAL, so two builds opening a fresh cache at once failed with "database is locked"
    (seen in tests/index/test_crash.py)."""
    for attempt in range(attempts):
        try:
            return statement()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


def _is_damaged(exc: sqlite3.DatabaseError) -> bool:
    return (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF in _DAMAGED


class EmbeddingCache:
    """A SQLite table of vectors; each `put` commits, so a killed build keeps what it embedded.

    Many processes may use one file at once (WAL, busy timeouts). A damaged file is set aside
    (`embeddings.sqlite.damaged-<time>`) and a new one started: a cache is only ever a shortcut."""

    def __init__(self, path: str | Path, embedder_id: str, dim: int) -> None:
        self.path = Path(path)
        self._embedder, self._dim = embedder_id, dim
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            if not _is_damaged(exc):
                raise
            self._set_aside(exc)
            self._open()

    def _open(self) -> None:
        self._db = sqlite3.connect(self.path, timeout=60)
        try:
            # the inode opened: a damaged file is set aside only if the path still names it (see _set_aside)
            self._inode = os.stat(self.path).st_ino
            _retry_busy(lambda: self._db.execute("PRAGMA journal_mode=WAL"))
            _retry_busy(
                lambda: self._db.execute(
                    "CREATE TABLE IF NOT EXISTS vectors (embedder TEXT, hash TEXT, vector BLOB, "
                    "PRIMARY KEY (embedder, hash))"
                )
            )
        except BaseException:
            self._db.close()
            raise

    def _set_aside(self, exc: sqlite3.DatabaseError) -> None:
        """Move the damaged file out of the way, unless another process already did and the path now names a new,
        healthy cache (it was opened by inode, so compare inodes)."""
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        try:
            moved_meanwhile = os.stat(self.path).st_ino != self._inode
        except FileNotFoundError:
            moved_meanwhile = True
        except AttributeError:  # damaged on the very first open: nothing else can have replaced it
            moved_meanwhile = False
        if not moved_meanwhile:
            _move_aside(self.path, exc)

    def _guard(self, action: Callable[[], T]) -> T:
        """Run `action`; if the file turns out damaged, set it aside, start a new one and run it again."""
        try:
            return action()
        except sqlite3.DatabaseError as exc:
            if not _is_damaged(exc):
                raise
            self._set_aside(exc)
            self._open()
            return action()

    def get(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among `hashes`."""
        return self._guard(lambda: self._get(hashes))

    def _get(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(hashes), 500):
            part = list(hashes[i : i + 500])
            rows = self._db.execute(
                f"SELECT hash, vector FROM vectors WHERE embedder = ? AND hash IN ({','.join('?' * len(part))})",
                [self._embedder, *part],
            )
            found.update((h, np.frombuffer(v, dtype=np.float32)) for h, v in rows if len(v) == 4 * self._dim)
        return found

    def put(self, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Store vectors and commit."""
        rows = [
            (self._embedder, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in zip(hashes, vectors, strict=True)
        ]

        def insert() -> None:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?,?,?)", rows)

        self._guard(insert)

    def absorb(self, old: str | Path) -> int:
        """Import a store's own cache from before the shared one (`<store>/embeddings.sqlite`) in one transaction,
        then delete it: upgrading re-embeds nothing, and every other store gets its vectors too. Returns the rows
        imported. A damaged old file is set aside; one locked by another process is left for the next write."""
        old = Path(old)
        if not old.is_file() or old.resolve() == self.path.resolve():
            return 0
        src = sqlite3.connect(old, timeout=60)
        try:
            count = self._guard(lambda: self._import(src))
        except _OldUnreadable as exc:
            src.close()
            if _is_damaged(exc.error):
                _move_aside(old, exc.error)
            return 0
        src.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{old}{suffix}").unlink(missing_ok=True)
        return count

    def _import(self, src: sqlite3.Connection) -> int:
        """Copy every row of `src` not already here; errors reading `src` become _OldUnreadable, so that only a
        damaged shared file, never the old one, makes `_guard` start a new shared cache."""
        try:
            rows = src.execute("SELECT embedder, hash, vector FROM vectors")
        except sqlite3.DatabaseError as exc:
            if "no such table" in str(exc):
                return 0
            raise _OldUnreadable(exc) from exc
        count = 0
        with self._db:  # one transaction: a killed import leaves the old file whole, imported on the next write
            while True:
                try:
                    batch = rows.fetchmany(2000)
                except sqlite3.DatabaseError as exc:
                    raise _OldUnreadable(exc) from exc
                if not batch:
                    return count
                self._db.executemany("INSERT OR IGNORE INTO vectors VALUES (?,?,?)", batch)
                count += len(batch)

    def close(self) -> None:
        self._db.close()


class _OldUnreadable(Exception):
    """Reading an old per-store cache failed (damaged, or locked by another process)."""

    def __init__(self, error: sqlite3.DatabaseError) -> None:
        super().__init__(str(error))
        self.error = error


def _move_aside(path: Path, exc: sqlite3.DatabaseError) -> None:
    """Rename a damaged cache file and its WAL to `<name>.damaged-<time>`, with a one-line note."""
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{path}{suffix}", f"{aside}{suffix}")
    log.warning("embedding cache %s is damaged (%s); set aside as %s, starting anew", path, exc, aside.name)
