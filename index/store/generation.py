"""The embedded store's generation core: the manifest, CURRENT, the write lock, data folders and their cleanup.

Layout of a store folder:
  CURRENT                  the committed manifest (JSON), replaced atomically by each commit
  data-NNNNNN/             one data folder: its records, vectors and keyword files (the parts, see GenerationFiles)
  write.lock               held by the one writer

A generation's files are written first, then CURRENT is renamed over: readers only see what CURRENT names.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from kbqa.errors import IndexMissingError, StoreLockedError
from kbqa.index.store.damage import IndexDamagedError, Problem, damaged, rebuild_fix

log = logging.getLogger(__name__)

FORMAT = 2
CURRENT = "CURRENT"
LOCK = "write.lock"
KEEP_GENERATIONS = 10  # removed rows stay this many generations, so lagging readers can update incrementally


@dataclass(frozen=True)
class Manifest:
    """What a generation holds, where its files are and which embedder made its vectors."""

    embedder: str
    dim: int
    documents: int
    chunks: int
    generation: int
    created: float
    data: str = ""  # the data folder's name
    rows: int = 0  # rows of vectors.f32 that belong to this generation
    ann: str = ""  # the HNSW file in the data folder readers search ("" while exact search is fast enough)
    format: int = FORMAT


class GenerationFiles(Protocol):
    """A part of a data folder kept per generation (vectors, keyword index): the writer calls these in turn."""

    def recover(self, base: Manifest) -> None:
        """Undo what a killed writer left beyond the committed generation `base`."""

    def save(self, draft: Manifest, records: Any) -> dict[str, Any]:
        """Write the files of generation `draft` (before CURRENT names it); the manifest fields they set."""

    def committed(self, manifest: Manifest) -> None:
        """CURRENT now names `manifest`: delete what no reader can still need."""

    def abort(self) -> None:
        """Forget what was staged for the uncommitted generation."""


def read_manifest(root: str | Path) -> Manifest | None:
    """The committed manifest of the store at `root`, or None when there is no index yet."""
    root = Path(root)

    def bad(what: str) -> Exception:
        return damaged(root, Problem(root / CURRENT, what, rebuild_fix(root)))

    try:
        data = json.loads((root / CURRENT).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        held = committed_without_current(root)
        if held:
            raise bad(
                f"is missing while {held[0].name} holds a committed index (restore CURRENT from a backup, or"
                " rebuild: the data folders are kept until then)"
            ) from None
        return None
    except ValueError:
        raise bad("is empty" if not (root / CURRENT).stat().st_size else "is not valid JSON (damaged)") from None
    except OSError as exc:
        raise bad(f"cannot be read ({exc.strerror})") from None
    if not isinstance(data, dict):
        raise bad("is not a manifest (damaged)")
    if data.get("format") != FORMAT:
        if isinstance(data.get("format"), int) and data["format"] < FORMAT:
            raise IndexMissingError(
                f"the index at {root} was made by an older kbqa: rebuild it with `kbqa index --rebuild`"
            )
        raise bad("is not a manifest (damaged)")
    try:
        manifest = Manifest(**data)
    except TypeError:
        raise bad("is not a manifest (damaged)") from None
    ints = (manifest.dim, manifest.documents, manifest.chunks, manifest.generation, manifest.rows)
    if (
        not all(isinstance(v, int) and v >= 0 for v in ints)
        or not isinstance(manifest.data, str)
        or not manifest.data.startswith("data-")
        or "/" in manifest.data
        or not isinstance(manifest.ann, str)
    ):
        raise bad("is not a manifest (damaged)")
    return manifest


def committed_without_current(root: str | Path) -> list[Path]:
    """The data folders whose records hold committed documents (newest first): with CURRENT missing, an index that
    was lost, not one never made (a first build killed before its commit leaves its records' transaction undone)."""
    import sqlite3

    held = []
    for folder in sorted(Path(root).glob("data-*"), reverse=True):
        meta = folder / "meta.sqlite"
        if not meta.is_file() or meta.stat().st_size == 0:
            continue
        try:
            db = sqlite3.connect(meta, timeout=5)  # not mode=ro: it cannot read a WAL left without its -shm
            try:
                db.execute("PRAGMA query_only = ON")
                found = db.execute("SELECT 1 FROM documents LIMIT 1").fetchone()
            finally:
                db.close()
        except sqlite3.Error:
            found = (1,)  # records that cannot be read are still not ours to delete
        if found:
            held.append(folder)
    return held


def current_or_none(root: str | Path) -> Manifest | None:
    """The committed manifest, or None when there is none or CURRENT is damaged."""
    try:
        return read_manifest(root)
    except IndexDamagedError:
        return None


def data_folder(root: str | Path, manifest: Manifest) -> Path:
    """The data folder a manifest names."""
    return Path(root) / manifest.data


def new_data_folder(root: str | Path) -> Path:
    """A new, empty data folder numbered after every existing one."""
    root = Path(root)
    taken = [int(p.name.split("-")[1]) for p in root.glob("data-*") if p.name.split("-")[1].isdigit()]
    folder = root / f"data-{max(taken, default=0) + 1:06d}"
    folder.mkdir()
    return folder


def kept_generations(generation: int) -> range:
    """The generations lagging readers of `generation` may still load (their per-generation files stay)."""
    return range(generation - KEEP_GENERATIONS + 1, generation + 1)


def write_current(root: str | Path, manifest: Manifest) -> None:
    """Switch CURRENT to `manifest` atomically and durably (temporary file, fsync, rename, fsync the folder)."""
    root = Path(root)
    pointer = root / f"{CURRENT}.tmp-{os.getpid()}"
    pointer.write_text(json.dumps(asdict(manifest), indent=1), encoding="utf-8")
    fsync(pointer)
    os.replace(pointer, root / CURRENT)
    fsync(root)


def remove_stale(root: str | Path, keep: str | None) -> None:
    """Remove data folders other than `keep` (old ones after a rebuild, or a killed rebuild's) and stray
    temporary CURRENT files."""
    root = Path(root)
    for path in root.glob("data-*"):
        if path.name != keep:
            shutil.rmtree(path, ignore_errors=True)
    for path in root.glob(f"{CURRENT}.tmp-*"):
        path.unlink(missing_ok=True)


def fsync(path: Path) -> None:
    """Flush a file or folder to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WriteLock:
    """The one writer's lock on a store: a second writer waits (saying so) up to `wait` seconds, then fails."""

    def __init__(self, root: str | Path, wait: float) -> None:
        from filelock import FileLock, Timeout

        root = Path(root)
        self._lock = FileLock(str(root / LOCK))
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            if wait > 0:
                log.info("waiting for another process writing %s ...", root)
            try:
                self._lock.acquire(timeout=wait)
            except Timeout:
                raise StoreLockedError(f"{root} is being written by another process; try again later") from None

    @property
    def is_locked(self) -> bool:
        return self._lock.is_locked

    def release(self) -> None:
        self._lock.release()
