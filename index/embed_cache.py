"""Vectors already computed, keyed by embedder id + text hash, so unchanged text is never re-embedded."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _retry_busy(statement, attempts: int = 100) -> None:
    """Run `statement`, retrying while another process holds the file: SQLite's busy timeout does not cover
    switching a new file to WAL, so two builds opening a fresh cache at once failed with "database is locked"
    (seen in tests/index/test_crash.py)."""
    for attempt in range(attempts):
        try:
            statement()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


class EmbeddingCache:
    """A SQLite table of vectors; each `put` commits, so a killed build keeps what it embedded."""

    def __init__(self, path: str | Path, embedder_id: str, dim: int) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=60)
        _retry_busy(lambda: self._db.execute("PRAGMA journal_mode=WAL"))
        _retry_busy(
            lambda: self._db.execute(
                "CREATE TABLE IF NOT EXISTS vectors (embedder TEXT, hash TEXT, vector BLOB, "
                "PRIMARY KEY (embedder, hash))"
            )
        )
        self._embedder, self._dim = embedder_id, dim

    def get(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among `hashes`."""
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
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?,?,?)", rows)

    def close(self) -> None:
        self._db.close()
