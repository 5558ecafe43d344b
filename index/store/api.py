"""The store interface every engine implements (reader, writer, keyword search) and the factories that open one."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from kbqa.errors import InputError

if TYPE_CHECKING:
    import numpy as np

    from kbqa.index.records import ChunkRecord, DocRecord, Passage
    from kbqa.index.store.records import StoredDoc

SERVER_SCHEMES = ("postgresql://", "postgres://")
LOCK_WAIT = 600.0


@runtime_checkable
class Manifest(Protocol):
    """What every engine's manifest tells: the committed generation, its size and the embedder of its vectors."""

    @property
    def embedder(self) -> str:
        """The id of the embedder that made the vectors."""

    @property
    def dim(self) -> int:
        """The vectors' dimension."""

    @property
    def documents(self) -> int:
        """How many documents the generation holds."""

    @property
    def chunks(self) -> int:
        """How many chunks the generation holds."""

    @property
    def generation(self) -> int:
        """The generation's number (each commit adds one)."""

    @property
    def created(self) -> float:
        """When it was committed (seconds since the epoch)."""


@runtime_checkable
class KeywordSearch(Protocol):
    """Keyword (BM25) search over one generation's chunks, as hybrid search uses it."""

    def __len__(self) -> int:
        """How many chunks are indexed."""

    def query_terms(self, query: str) -> list[str]:
        """The query's distinct tokens."""

    def document_frequency(self, term: str) -> int:
        """How many chunks contain `term` (a token as `query_terms` makes it)."""

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """The `k` best (chunk id, score), best first; chunks sharing no term with the query left out."""


@runtime_checkable
class StoreReader(Protocol):
    """A read-only view of one committed generation; readers never see a half-applied change."""

    @property
    def manifest(self) -> Manifest:
        """The committed generation this reader sees."""

    @property
    def root(self) -> str | Path:
        """Where the store lives (for messages)."""

    def refresh(self) -> bool:
        """Move to a newer committed generation if a writer made one; True if it did."""

    def check_embedder(self, embedder_id: str) -> None:
        """Raise EmbedderMismatchError (one line) when the index was built by another embedder."""

    def search(self, query: np.ndarray, k: int) -> list[Passage]:
        """The `k` passages nearest to `query` (an L2-normalised vector), best first, scored."""

    def keywords(self) -> KeywordSearch | None:
        """This generation's keyword index, or None when it has none saved (search then builds one)."""

    def chunk_texts(self) -> tuple[list[int], list[str]]:
        """(ids, texts as embedded and keyword-indexed: title first) of this generation's chunks."""

    def passages(self, chunk_ids: Sequence[int]) -> dict[int, Passage]:
        """Chunk id → passage with its document's metadata (score 0); unknown ids are left out."""

    def documents(self) -> list[dict]:
        """Every document (doc_id, title, date, source, path, kind, added, chunks), in source order."""

    def document_hashes(self) -> dict[str, str]:
        """doc_id → the hash each document was stored under."""

    def document_text(self, doc_id: str) -> str | None:
        """A document's cleaned text (the context of its passages' offsets), or None."""

    def close(self) -> None:
        """Release the reader's connections and files."""


@runtime_checkable
class StoreWriterAPI(Protocol):
    """Stages changes to the next generation and makes them visible all at once on `commit()`."""

    def documents(self) -> list[StoredDoc]:
        """The documents of the generation being written."""

    def document_hashes(self) -> dict[str, str]:
        """doc_id → the hash each document of the generation being written was stored under."""

    def add(
        self,
        doc: DocRecord,
        chunks: Sequence[ChunkRecord],
        vectors: np.ndarray,
        path: str | None = None,
        stored_hash: str | None = None,
    ) -> None:
        """Add (or replace) a document with its chunks and their vectors (one row per chunk)."""

    def remove(self, doc_ids: Iterable[str]) -> int:
        """Remove documents by id; how many were there."""

    def commit(self) -> Manifest:
        """Make the staged changes the committed generation atomically; its manifest (unchanged if none)."""

    def abort(self) -> None:
        """Forget the staged changes; the committed generation is untouched."""

    def __enter__(self) -> StoreWriterAPI:
        """The writer itself."""

    def __exit__(self, exc_type: object, *exc: object) -> None:
        """Abort when the block raised (and nothing was committed)."""


def is_server(location: str | Path) -> bool:
    """Whether `location` names a database server rather than a store folder."""
    return str(location).startswith(SERVER_SCHEMES)


def _server_engine():  # noqa: ANN202 - the engine module
    """The PostgreSQL engine module, imported only when a server location is used."""
    name = f"{__package__}.postgres.store"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        raise InputError("this kbqa has no PostgreSQL store engine yet: use a store folder") from None


def open_store(location: str | Path, **kw: object) -> StoreReader:
    """A reader of the store at `location`: a folder (the embedded engine) or a postgresql:// URL.
    `kw`: engine options (the embedded engine's `vectors=False` opens the records only)."""
    if is_server(location):
        return _server_engine().open_store(str(location), **kw)
    from kbqa.index.store.embedded import Store

    return Store(location, **kw)


def open_writer(
    location: str | Path,
    embedder_id: str | None,
    dim: int | None,
    rebuild: bool = False,
    wait: float = LOCK_WAIT,
    **kw: object,
) -> StoreWriterAPI:
    """The writer of the store at `location` (waiting up to `wait` seconds for another writer).
    `embedder_id=None` keeps the index's embedder; `rebuild` starts from empty; `kw`: a server engine's options."""
    if is_server(location):
        return _server_engine().open_writer(str(location), embedder_id, dim, rebuild=rebuild, wait=wait, **kw)
    from kbqa.index.store.embedded import StoreWriter

    return StoreWriter(location, embedder_id, dim, rebuild=rebuild, wait=wait, **kw)
