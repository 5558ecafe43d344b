"""The store interface every engine implements (reader, writer, keyword search) and the factories that open one."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

from kbqa.config import Settings
from kbqa.errors import InputError, KbqaError
from kbqa.index.store.rows import DocumentInfo, StoredDocument

if TYPE_CHECKING:
    import numpy as np

    from kbqa.index.records import ChunkRecord, DocRecord, Passage

SERVER_SCHEMES = ("postgresql://", "postgres://")


class Hit(NamedTuple):
    """A chunk found by a search, and its score (higher is nearer)."""

    chunk_id: int
    score: float


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

    def search(self, query: np.ndarray, k: int, within: np.ndarray | None = None) -> list[Hit]:
        """The `k` chunks nearest to `query` (an L2-normalised vector), best first, by cosine (their passages:
        `passages`). With `within` (chunk ids, e.g. from `chunks_published`): the `k` nearest of those live chunks
        only (fewer only when fewer are live); without it, the search is as fast as ever."""

    def chunks_published(self, since: str | None, until: str | None) -> np.ndarray:
        """The sorted int64 ids of this generation's chunks whose document was published in [since, until], both
        ends included (ISO 8601 strings; a date alone is its midnight, no offset is +07:00; either may be None).
        With a bound, documents without a publication time are left out; with none, every live chunk is in."""

    def published_range(self) -> tuple[str | None, str | None]:
        """The earliest and latest publication time (ISO 8601) of this generation's documents; (None, None) when no
        document has one."""

    def keywords(self) -> KeywordSearch | None:
        """This generation's keyword index, or None when it has none saved (search then builds one)."""

    def chunk_texts(self) -> tuple[list[int], list[str]]:
        """(ids, texts as embedded and keyword-indexed: title first) of this generation's chunks."""

    def passages(self, chunk_ids: Sequence[int]) -> dict[int, Passage]:
        """Chunk id → passage with its document's metadata (score 0); unknown ids are left out."""

    def documents(self) -> list[DocumentInfo]:
        """Every document (doc_id, title, date, source, path, kind, added, hash, chunks, published), in source
        order."""

    def document_hashes(self) -> dict[str, str]:
        """doc_id → the hash each document was stored under."""

    def document_text(self, doc_id: str) -> str | None:
        """A document's cleaned text (the context of its passages' offsets), or None."""

    def document_records(self) -> Iterator[StoredDocument]:
        """Each document as it was written, with its chunks and their ids, in the order they were added."""

    def vectors(self, chunk_ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of `chunk_ids` (one row each, in that order)."""

    def close(self) -> None:
        """Release the reader's connections and files."""


@runtime_checkable
class StoreWriterAPI(Protocol):
    """Stages changes to the next generation and makes them visible all at once on `commit()`."""

    def documents(self) -> list[DocumentInfo]:
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


def _server_engine(module: str = "store"):  # noqa: ANN202 - the engine module
    """The PostgreSQL engine's `module`, imported only when a server location is used."""
    name = f"{__package__}.postgres.{module}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        raise InputError("this kbqa has no PostgreSQL store engine yet: use a store folder") from None


def open_store(
    location: str | Path, pool_size: int = Settings.pg_pool, settings: Settings | None = None, **kw: object
) -> StoreReader:
    """A reader of the store at `location`: a folder (the embedded engine) or a postgresql:// URL.
    `pool_size`: a server's connections per process (the pg_pool setting; the first open of a location sets it);
    `settings`: a server's timeouts (pg_*_timeout; their defaults when None; as pool_size, the first open sets
    them); `kw`: engine options (the embedded engine's `vectors=False` opens the records only)."""
    if is_server(location):
        return _server_engine().open_store(str(location), pool_size=pool_size, settings=settings, **kw)
    from kbqa.index.store.embedded import Store

    return Store(location, **kw)


def open_writer(
    location: str | Path,
    embedder_id: str | None,
    dim: int | None,
    rebuild: bool = False,
    wait: float = Settings.lock_wait,
    pool_size: int = Settings.pg_pool,
    settings: Settings | None = None,
    **kw: object,
) -> StoreWriterAPI:
    """The writer of the store at `location` (waiting up to `wait` seconds for another writer; the lock_wait
    setting). `embedder_id=None` keeps the index's embedder; `rebuild` starts from empty; `pool_size` and
    `settings`: as for open_store; `kw`: a server engine's options."""
    if is_server(location):
        return _server_engine().open_writer(
            str(location), embedder_id, dim, rebuild=rebuild, wait=wait, pool_size=pool_size, settings=settings, **kw
        )
    from kbqa.index.store.embedded import StoreWriter

    return StoreWriter(location, embedder_id, dim, rebuild=rebuild, wait=wait, **kw)


@dataclass(frozen=True)
class Health:
    """A store's verdict (`check_store`): what is wrong, one line each with its fix, and what the store holds."""

    where: str  # the store as messages name it (a server's without its password)
    problems: tuple[str, ...]
    manifest: Manifest | None  # the committed generation's manifest; None when there is none (or it is unreadable)

    @property
    def sound(self) -> bool:
        return not self.problems


def display(location: str | Path) -> str:
    """`location` as messages show it: a server's URL without its password (userinfo or `password=`), a folder as
    given; any other text scrubbed of passwords (index/store/secrets.py)."""
    from kbqa.index.store.secrets import display as shown
    from kbqa.index.store.secrets import scrub

    return scrub(shown(location), location) if is_server(location) else shown(location)


def error_line(exc: BaseException, location: str | Path | None = None) -> str:
    """A store or server error as one line, every password of `location` (and PGPASSWORD) scrubbed from it."""
    from kbqa.index.store.secrets import one_line

    return one_line(exc, location)


def scrub(text: str, location: str | Path | None = None) -> str:
    """`text` (an error's, perhaps echoing a DSN) without any password, `location`'s wherever it appears."""
    from kbqa.index.store.secrets import scrub as scrubbed

    return scrubbed(text, location)


def check_store(location: str | Path, cache_dir: str | Path | None = None, settings: Settings | None = None) -> Health:
    """Every problem of the store at `location` (each engine checks its own: a folder's files, a server's tables
    and counts) and of the embedding cache in `cache_dir`; a server that cannot be reached is a one-line error
    (within `settings`' pg_connect_timeout)."""
    from kbqa.index.store.health import cache_problems, check_folder

    server = is_server(location)
    health = _server_engine("health").check(str(location), settings) if server else check_folder(location)
    cache = tuple(p.line() for p in cache_problems(cache_dir)) if cache_dir is not None else ()
    return Health(health.where, health.problems + cache, health.manifest)


def damage(location: str | Path) -> KbqaError | None:
    """The one-line error naming the first damaged file of the store folder at `location` and its fix, or None
    (sound, absent, or a server: its damage is reported by the server's errors)."""
    if is_server(location):
        return None
    from kbqa.index.store.health import damaged, store_problems

    problems = store_problems(location)
    return damaged(location, problems[0]) if problems else None


def temporary_database(server: str) -> AbstractContextManager[str]:
    """A new, empty database on the PostgreSQL server at `server` (its URL), dropped on leaving; yields its URL."""
    return _server_engine("scratch").temporary_database(server)
