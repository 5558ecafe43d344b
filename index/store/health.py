"""The embedded store's health (and the embedding cache's): what is damaged, one line per problem with its fix."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from kbqa.errors import KbqaError
from kbqa.index.store import ann
from kbqa.index.store import keywords as store_keywords
from kbqa.index.store.api import Health
from kbqa.index.store.damage import DEFAULT_STORE, IndexDamagedError, Problem, damaged, rebuild_fix
from kbqa.index.store.generation import CURRENT, data_folder, read_manifest
from kbqa.index.store.records import ALIVE, CHUNKS_OF_DOCS, META, TABLES
from kbqa.index.store.vectors import VECTORS

CACHE_TABLES = {"vectors"}

__all__ = ["DEFAULT_STORE", "IndexDamagedError", "Problem", "check", "check_folder", "damaged", "rebuild_fix", "verify"]


def _sqlite_header(path: Path) -> str | None:
    """What is wrong with a SQLite file's size (a stat: the file is not opened, since closing a descriptor would
    drop the POSIX locks this process's SQLite connections hold on it), or None."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    wal = path.with_name(path.name + "-wal")
    if wal.is_file() and wal.stat().st_size > 0:  # pages may live in the WAL only: let SQLite judge
        return None
    if size == 0:
        return "is empty"
    if size < 512 or size % 512:
        return f"is truncated ({size} bytes)"
    return None


def _open(path: Path) -> sqlite3.Connection:
    """A query-only connection (not `mode=ro`: that cannot read a WAL a killed writer left without its -shm)."""
    return sqlite3.connect(path, timeout=60, check_same_thread=False)


def _sqlite_tables(path: Path, tables: set[str], deep: bool) -> str | None:
    """What is wrong with a SQLite file's tables (and, if `deep`, its pages: PRAGMA quick_check), or None."""
    try:
        db = _open(path)
    except sqlite3.Error as exc:
        return f"cannot be opened ({exc})"
    try:
        found = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables <= found:
            return f"lacks the table(s) {', '.join(sorted(tables - found))}"
        for table in sorted(tables):
            db.execute(f"SELECT * FROM {table} LIMIT 1").fetchall()
        wal = path.with_name(path.name + "-wal")
        if not (wal.is_file() and wal.stat().st_size > 0):
            page = db.execute("PRAGMA page_size").fetchone()[0]
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            if path.stat().st_size < page * pages:
                return f"is truncated ({path.stat().st_size} bytes, {pages} pages of {page} expected)"
        if deep:
            result = [r[0] for r in db.execute("PRAGMA quick_check")]
            if result != ["ok"]:
                return f"fails its integrity check ({result[0]})"
    except sqlite3.Error as exc:
        return f"is damaged ({exc})"
    finally:
        db.close()
    return None


def store_problems(
    root: str | Path, deep: bool = True, finite: bool | None = None, load_ann: bool = True
) -> list[Problem]:
    """What is wrong with the committed generation of the store at `root` (empty when sound or absent).

    Without `deep`, only what is cheap at every open: CURRENT, the data folder, SQLite headers and tables, the
    vectors file's size, the ANN and keyword files' presence and headers. `deep` adds SQLite's quick_check,
    finite vectors (alone with `finite`), the live chunk count, the ANN count and the keyword index's coverage.
    `load_ann=False` skips loading the ANN file when not `deep` (a reader about to load it anyway)."""
    finite = deep if finite is None else finite
    root = Path(root)
    fix = rebuild_fix(root)
    try:
        manifest = read_manifest(root)
    except IndexDamagedError as exc:
        return [exc.problem or Problem(root / CURRENT, "is unreadable", fix)]
    except KbqaError:
        return [Problem(root / CURRENT, "names a format of an older kbqa", fix)]
    if manifest is None:
        return []
    data = data_folder(root, manifest)
    if not data.is_dir():
        return [Problem(data, "(the data folder CURRENT names) is missing", fix)]
    problems: list[Problem] = []
    meta = data / META
    wrong = _sqlite_header(meta) if meta.is_file() else "is missing"
    wrong = wrong or _sqlite_tables(meta, TABLES, deep)
    live = None
    if wrong:
        problems.append(Problem(meta, wrong, fix))
    elif deep:
        try:
            db = _open(meta)
            try:
                rows = db.execute(f"SELECT c.id {CHUNKS_OF_DOCS}{ALIVE}", {"g": manifest.generation}).fetchall()
            finally:
                db.close()
            live = np.sort(np.array([r[0] for r in rows], dtype=np.int64))
            if len(live) != manifest.chunks:
                problems.append(Problem(meta, f"holds {len(live)} live chunks, CURRENT says {manifest.chunks}", fix))
            elif len(live) and int(live[-1]) >= manifest.rows:
                problems.append(Problem(meta, f"names chunk {int(live[-1])} beyond the {manifest.rows} vectors", fix))
        except sqlite3.Error as exc:
            problems.append(Problem(meta, f"is damaged ({exc})", fix))
    vectors = data / VECTORS
    expected = manifest.rows * manifest.dim * 4
    size = vectors.stat().st_size if vectors.is_file() else -1
    if size < 0 and expected:
        problems.append(Problem(vectors, "is missing", fix))
    elif 0 <= size < expected or size % max(manifest.dim * 4, 1):
        problems.append(
            Problem(vectors, f"is {size} bytes, not {expected} ({manifest.rows} rows of {manifest.dim} floats)", fix)
        )
    elif finite and expected and not _finite(vectors, manifest.rows, manifest.dim):
        problems.append(Problem(vectors, "holds values that are not numbers (overwritten?)", fix))
    if manifest.ann:
        wrong = ann.file_problem(data, manifest.ann, deep, load=deep or load_ann)
        if wrong:
            problems.append(Problem(data / manifest.ann, wrong, fix))
    problems.extend(store_keywords.problems(data, manifest.generation, live if deep else None, fix))
    return problems


def _finite(path: Path, rows: int, dim: int, block: int = 65536) -> bool:
    table = np.memmap(path, dtype=np.float32, mode="r", shape=(rows, dim))
    return all(np.isfinite(table[i : i + block]).all() for i in range(0, rows, block))


def cache_problems(cache_dir: str | Path) -> list[Problem]:
    """What is wrong with the embedding cache in `cache_dir` (a damaged one is set aside by the next build)."""
    from kbqa.index.embed.cache import cache_path

    path = cache_path(cache_dir)
    if not path.is_file():
        return []
    wrong = _sqlite_header(path) or _sqlite_tables(path, CACHE_TABLES, deep=True)
    if wrong == "is empty":
        return []  # SQLite starts an empty file as a new database
    fix = "the next `kbqa index` or `kbqa add` sets it aside and starts a new one (only re-embedding costs time)"
    return [Problem(path, wrong, fix)] if wrong else []


def check(root: str | Path, cache_dir: str | Path | None = None) -> list[Problem]:
    """Every problem of the store at `root` and of the embedding cache in `cache_dir`; empty when sound."""
    return store_problems(root, deep=True) + (cache_problems(cache_dir) if cache_dir is not None else [])


def check_folder(root: str | Path) -> Health:
    """The health of the store folder at `root` (every check, deep): its problems' lines, and its manifest when
    sound."""
    problems = tuple(p.line() for p in store_problems(root, deep=True))
    manifest = None
    if not problems:
        try:
            manifest = read_manifest(root)
        except KbqaError:
            manifest = None
    return Health(str(root), problems, manifest)


def verify(root: str | Path, deep: bool = False, finite: bool | None = None, load_ann: bool = True) -> None:
    """Raise the one-line IndexDamagedError for the first problem of the store at `root`, if any."""
    problems = store_problems(root, deep=deep, finite=finite, load_ann=load_ann)
    if problems:
        raise damaged(root, problems[0])
