"""Store health: find what is damaged in a store (and the embedding cache), one line per problem with its fix."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from kbqa.errors import KbqaError
from kbqa.index.store.damage import DEFAULT_STORE, IndexDamagedError, Problem, damaged, rebuild_fix
from kbqa.index.store.generation import CURRENT, data_folder, read_manifest
from kbqa.index.store.records import ALIVE, CHUNKS_OF_DOCS, META, TABLES
from kbqa.index.store.vectors import VECTORS

CACHE_TABLES = {"vectors"}

__all__ = ["DEFAULT_STORE", "IndexDamagedError", "Problem", "check", "damaged", "rebuild_fix", "verify"]


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
    from kbqa.index import keyword
    from kbqa.index.store import ann

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
        wrong = _ann_problem(data, manifest.ann, deep, ann, load=deep or load_ann)
        if wrong:
            problems.append(Problem(data / manifest.ann, wrong, fix))
    problems.extend(_keyword_problems(data, manifest.generation, live if deep else None, fix, keyword))
    return problems


def _finite(path: Path, rows: int, dim: int, block: int = 65536) -> bool:
    table = np.memmap(path, dtype=np.float32, mode="r", shape=(rows, dim))
    return all(np.isfinite(table[i : i + block]).all() for i in range(0, rows, block))


def _ann_problem(data: Path, name: str, deep: bool, ann, load: bool) -> str | None:  # noqa: ANN001
    path = data / name
    try:
        _, _, held = ann.parse_name(name)
    except ValueError:
        return "is not a valid ANN file name"
    if not path.is_file():
        return "is missing"
    if path.stat().st_size == 0:
        return "is empty"
    if not load:
        return None
    faiss = ann._faiss()
    try:  # memory-mapped unless `deep`: costs little at every open
        index = faiss.read_index(str(path), 0 if deep else faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    except Exception as exc:  # noqa: BLE001 - faiss raises RuntimeError with its C++ message
        return f"cannot be loaded ({str(exc).strip().splitlines()[0][:80] if str(exc).strip() else type(exc).__name__})"
    if index.ntotal != held:
        return f"holds {index.ntotal} vectors, its name says {held}"
    return None


def _keyword_problems(data: Path, generation: int, live: np.ndarray | None, fix: str, keyword) -> list[Problem]:  # noqa: ANN001
    manifest = data / keyword.manifest_name(generation)
    if not manifest.exists():
        return []  # a store from before keyword files: the index is built from the chunks when asked
    try:
        spec = json.loads(manifest.read_text(encoding="utf-8"))
        names = spec["segments"]
        if not isinstance(names, list) or not isinstance(spec["removed"], list):
            raise ValueError("bad manifest")
    except (ValueError, KeyError, TypeError, OSError):
        return [Problem(manifest, "is unreadable", fix)]
    problems = []
    for name in names:
        for array in keyword.ARRAYS:
            path = data / str(name) / f"{array}.npy"
            try:
                np.load(path, mmap_mode="r", allow_pickle=False)
            except FileNotFoundError:
                problems.append(Problem(path, "(of the keyword index) is missing", fix))
            except Exception:  # noqa: BLE001 - numpy raises ValueError, EOFError, OSError... on a bad file
                problems.append(Problem(path, "(of the keyword index) is unreadable", fix))
    if problems or live is None:
        return problems
    try:
        index = keyword.KeywordIndex.load(data, manifest.name)
        ids = np.concatenate([np.asarray(s.ids) for s in index._segments] or [np.zeros(0, np.int64)])
        covered = np.setdiff1d(ids, np.fromiter(index._removed, dtype=np.int64, count=len(index._removed)))
    except Exception:  # noqa: BLE001
        return [Problem(manifest, "cannot be loaded", fix)]
    if not np.array_equal(np.sort(covered), live):
        return [Problem(manifest, f"covers {len(covered)} chunks, not the {len(live)} live ones", fix)]
    return []


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


def verify(root: str | Path, deep: bool = False, finite: bool | None = None, load_ann: bool = True) -> None:
    """Raise the one-line IndexDamagedError for the first problem of the store at `root`, if any."""
    problems = store_problems(root, deep=deep, finite=finite, load_ann=load_ann)
    if problems:
        raise damaged(root, problems[0])


def _unposted(conn: Any, manifest: Any) -> int:
    """How many live chunks of a PostgreSQL store have term frequencies in its live postings blocks that do not
    add up to their token count (a chunk missing from the keyword index, or in it twice). Reads every block."""
    import numpy as np

    from kbqa.index.store.postgres.keywords import LIVE_BLOCKS, decode
    from kbqa.index.store.postgres.schema import ALIVE

    g = {"g": manifest.generation}
    counted = np.zeros(manifest.next_id, np.float64)
    # a server-side cursor (it needs a transaction): the blocks arrive in batches, not all at once
    with conn.transaction(), conn.cursor(name="kbqa_check_postings") as cur:
        cur.execute(f"SELECT p.chunks, p.tfs FROM postings p WHERE {LIVE_BLOCKS}", g)
        for chunks, tfs in cur:
            ids, counts = decode(chunks, tfs)
            np.add.at(counted, ids, counts)
    lengths = np.full(manifest.next_id, -1.0)  # -1: not live (their postings may stay a while)
    for chunk_id, length in conn.execute(f"SELECT c.id, c.length FROM chunks c WHERE {ALIVE.format(t='c')}", g):
        lengths[chunk_id] = length
    live = lengths >= 0
    return int(np.count_nonzero(lengths[live] != counted[live]))


def server_check(location: str) -> tuple[list[str], Any]:
    """(what is wrong, one line each with its fix; the committed manifest or None) for the PostgreSQL store at
    `location`: the server answers, the tables and the HNSW index exist, and the `store` row's counts match the
    live rows, their keyword postings and their vectors' dimension. Lines name the store without its password."""
    from kbqa.index.store.postgres.schema import ALIVE, display, pool
    from kbqa.index.store.postgres.schema import read_manifest as read_pg_manifest

    shown = display(location)
    fix = f"repair it with `kbqa index --rebuild --store {shown} PATHS` (PATHS: your document folders)"
    try:
        with pool(location).connection() as conn:
            manifest = read_pg_manifest(conn)
            if manifest is None:
                return [], None
            g = {"g": manifest.generation}
            live = ALIVE.format(t="c")
            documents, chunks, tokens, top, dims = conn.execute(
                f"SELECT (SELECT count(*) FROM documents d WHERE {ALIVE.format(t='d')}), count(*), "
                "coalesce(sum(c.length), 0), coalesce(max(c.id), -1), "
                f"coalesce(min(vector_dims(c.embedding)), 0) FROM chunks c WHERE {live}",
                g,
            ).fetchone()
            orphans = conn.execute(
                f"SELECT count(*) FROM chunks c JOIN documents d ON d.key = c.doc_key WHERE {live} "
                f"AND NOT ({ALIVE.format(t='d')})",
                g,
            ).fetchone()[0]
            unposted = _unposted(conn, manifest)
            hnsw = conn.execute("SELECT to_regclass('chunks_embedding') IS NOT NULL").fetchone()[0]
    except KbqaError:  # cannot connect, or a store of another format: a one-line error, not a finding
        raise
    except Exception as exc:  # noqa: BLE001 - any database error is a finding, in one line
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [f"{shown}: cannot be read ({display(reason)}); {fix}"], None
    found = []
    if (documents, chunks) != (manifest.documents, manifest.chunks):
        found.append(
            f"holds {documents} document(s) and {chunks} chunk(s) where its store row says {manifest.documents} "
            f"and {manifest.chunks}"
        )
    if tokens != manifest.tokens:
        found.append(f"has {tokens} keyword tokens where its store row says {manifest.tokens}")
    if top >= manifest.next_id:
        found.append(f"has chunk id {top} at or beyond its next id {manifest.next_id}")
    if chunks and dims != manifest.dim:
        found.append(f"has vectors of {dims} numbers where its store row says {manifest.dim}")
    if orphans:
        found.append(f"has {orphans} live chunk(s) of removed documents")
    if unposted:
        found.append(f"has {unposted} chunk(s) whose keyword postings do not add up to their token count")
    if not hnsw:
        found.append("lacks the HNSW index chunks_embedding")
    return [f"{shown}: {what}; {fix}" for what in found], manifest
