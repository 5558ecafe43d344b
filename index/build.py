"""Bring the index in step with files: clean, chunk, embed what is new or changed, commit atomically."""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from kbqa.config import Settings
from kbqa.errors import IndexMissingError, InputError, check_embedder
from kbqa.index.chunking import chunk_document, embedding_text
from kbqa.index.clean import clean_document
from kbqa.index.embed.bulk_engine import spread
from kbqa.index.embed.cache import CACHE_FILE, EmbeddingCache, cache_path
from kbqa.index.embed.embedders import Embedder, get_embedder
from kbqa.index.formats.limits import DEFAULT_LIMITS, Limits
from kbqa.index.loaders import display_path, find_files, printable, read_files, resolved
from kbqa.index.progress import EmbedProgress
from kbqa.index.records import ChunkRecord, DocRecord, text_hash
from kbqa.index.store.api import DocumentInfo, Manifest, is_server, open_store, open_writer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildReport:
    """What a build did, for the summary line."""

    files: int
    documents: int
    chunks: int
    embedded: int
    reused: int
    unchanged: int
    removed: int
    seconds: float
    manifest: Manifest
    phases: dict[str, float] = field(default_factory=dict)  # seconds: read (load+clean), chunk, embed, write
    engine: str = ""  # what embedded the new chunks
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason): unreadable files left out
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file, the file with the same text indexed)

    def to_json(self) -> dict:
        """The report as plain JSON values (`kbqa index --json`)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("manifest", "phases", "skipped", "duplicates")}
        out["skipped"] = [{"file": f, "reason": r} for f, r in self.skipped]
        out["duplicates"] = [{"file": f, "indexed_as": kept} for f, kept in self.duplicates]
        out["phases"] = {k: round(v, 3) for k, v in self.phases.items()}
        out["seconds"] = round(self.seconds, 3)
        out["index"] = {"documents": self.manifest.documents, "chunks": self.manifest.chunks}
        return out

    def summary(self) -> str:
        skipped = (
            f" ({len(self.skipped)} unreadable, skipped: {_names(f for f, _ in self.skipped)})" if self.skipped else ""
        )
        if self.duplicates:
            dups = dict.fromkeys(f for f, _ in self.duplicates)
            skipped += f" ({len(dups)} duplicate(s) of other files, not indexed: {_names(dups)})"
        return (
            f"indexed {self.files - len(self.skipped)} file(s){skipped}: {self.documents} document(s), "
            f"{self.chunks} new or changed chunk(s) "
            f"({self.embedded} embedded, {self.reused} from cache), {self.unchanged} document(s) unchanged, "
            f"{self.removed} removed (file gone); the index now holds {self.manifest.documents} document(s), "
            f"{self.manifest.chunks} chunk(s) [{self.seconds:.1f} s]"
        )


def _names(sources: Iterable[str], shown: int = 3) -> str:
    names = [printable(Path(s).name) for s in sources]
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


@dataclass(frozen=True)
class RemoveReport:
    """What a removal did."""

    removed: list[str]
    seconds: float
    manifest: Manifest

    def summary(self) -> str:
        return (
            f"removed {len(self.removed)} document(s); the index now holds {self.manifest.documents} document(s), "
            f"{self.manifest.chunks} chunk(s) [{self.seconds:.2f} s]"
        )


@dataclass(frozen=True)
class Loaded:
    """What reading the files gave: their cleaned documents, and the files skipped with the reason."""

    files: int
    docs: list[tuple[DocRecord, str]]  # (document, its file's resolved absolute path)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file as given, one-line reason)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file, the file indexed in its place)


def load_documents(paths: Iterable[str | Path], strict: bool = False, limits: Limits = DEFAULT_LIMITS) -> Loaded:
    """Every document of every file under `paths`, read within `limits`. A file that cannot be read is skipped
    with a one-line notice (logged; `strict`: its error stops the run instead); if no file gives any text, that is
    the error."""
    paths = list(paths)
    files = find_files(paths)
    docs: list[tuple[DocRecord, str]] = []
    skipped: list[tuple[str, str]] = []
    duplicates: list[tuple[str, str]] = []  # (file, the file whose identical text is indexed)
    first_source: dict[str, str] = {}
    for path in files:
        try:
            raw = next(iter(read_files([path], limits)))
            found = clean_document(
                raw.text,
                raw.source,
                date=raw.date,
                author=raw.author,
                pages=raw.pages,
                published=raw.published,
                limits=limits,
            )
        except InputError as exc:
            if strict:
                raise
            skipped.append((display_path(path), str(exc)))
            continue
        for doc in found:
            key = text_hash(" ".join(doc.text.split()))
            if key in first_source:  # the same article under another name (syndicated news): indexed once
                duplicates.append((raw.source, first_source[key]))
                continue
            first_source[key] = raw.source
            docs.append((doc, resolved(raw.source)))
    for dup, kept in dict.fromkeys(duplicates):
        log.info("%s: same text as %s, which is indexed instead", printable(dup), printable(kept))
    if docs:  # the run goes on: say what it leaves out (else the error below is the one line)
        for _, reason in skipped:
            log.info("skipped %s", printable(reason))
    if not docs:
        if skipped and len(skipped) == len(files):
            raise InputError(skipped[0][1] if len(files) == 1 else f"no file could be read ({len(skipped)} skipped)")
        raise InputError(f"no text found in {', '.join(str(p) for p in paths)}")
    return Loaded(len(files), docs, skipped, list(dict.fromkeys(duplicates)))


def _within(path: str, roots: list[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def embed_chunks(
    embedder: Embedder,
    texts: list[str],
    cache: EmbeddingCache,
    show_progress: bool | None,
    doc_ends: list[int] | None = None,
    batch_size: int = Settings.embed_batch,
) -> tuple[np.ndarray, int, str]:
    """Vectors for `texts`, from the cache where possible; (vectors, number embedded now, the engine's name).

    Texts are embedded longest first, in batches of `batch_size` (the embed_batch setting) cached as they are
    done, so an interrupted run loses at most a batch. `doc_ends` (cumulative chunk counts per document) lets the
    progress line count documents.
    """
    hashes = [text_hash(t) for t in texts]
    known = cache.get(hashes)
    pending = {h: t for h, t in zip(hashes, texts, strict=True) if h not in known}
    # Longest first over the whole job: each batch holds texts of one length, so little padding is computed
    # (+10-15% measured in issue 11), and the ETA shown early errs long rather than short.
    todo = sorted(pending.items(), key=lambda item: -len(item[1]))
    name = ""
    if todo:
        left, owners = _pending_by_document(hashes, pending.keys(), doc_ends or [])
        done = sum(1 for n in left if n == 0)
        engine = embedder.bulk(len(todo), spread(pending.values()))  # a faster engine for large jobs
        name = str(getattr(engine, "name", None) or getattr(engine, "engine", None) or engine.id)
        with EmbedProgress(len(todo), len(doc_ends or []), enabled=show_progress) as progress:
            for i in range(0, len(todo), batch_size):
                batch = todo[i : i + batch_size]
                vectors = engine.embed_passages([t for _, t in batch])
                cache.put([h for h, _ in batch], vectors)
                known.update(zip([h for h, _ in batch], vectors, strict=True))
                for h, _ in batch:
                    for d in owners.get(h, ()):
                        left[d] -= 1
                        done += left[d] == 0
                progress.update(len(batch), done)
    out = np.stack([known[h] for h in hashes]) if hashes else np.zeros((0, embedder.dim), np.float32)
    return out, len(todo), name


def _pending_by_document(
    hashes: list[str], pending: Iterable[str], doc_ends: list[int]
) -> tuple[list[int], dict[str, list[int]]]:
    """For the progress line: per document (doc_ends: cumulative chunk counts) how many distinct chunk texts still
    need embedding, and for each such text the documents holding it."""
    pending = set(pending)
    left: list[int] = []
    owners: dict[str, list[int]] = {}
    for d, (a, b) in enumerate(zip([0, *doc_ends[:-1]], doc_ends, strict=True)):
        mine = set(hashes[a:b]) & pending
        left.append(len(mine))
        for h in mine:
            owners.setdefault(h, []).append(d)
    return left, owners


@dataclass(frozen=True)
class Prepared:
    """One document planned for writing: its chunks, the texts they are embedded as, and what it is stored under."""

    doc: DocRecord
    path: str  # its file's resolved absolute path
    chunks: list[ChunkRecord]
    texts: list[str]  # one per chunk (embedding_text)
    stored_hash: str  # indexed_hash


def _prepare(doc: DocRecord, path: str, stored_hash: str, settings: Settings) -> Prepared:
    chunks = chunk_document(doc, settings.chunk_chars, settings.chunk_overlap)
    return Prepared(doc, path, chunks, [embedding_text(doc, c) for c in chunks], stored_hash)


def _embed(
    embedder: Embedder, prepared: list[Prepared], cache: EmbeddingCache, show_progress: bool | None, batch: int
) -> tuple[list[np.ndarray], int, str]:
    """embed_chunks over the documents' texts: (each document's vectors, number embedded now, the engine's name)."""
    texts = [t for p in prepared for t in p.texts]
    ends = list(itertools.accumulate(len(p.texts) for p in prepared))
    vectors, embedded, engine = embed_chunks(embedder, texts, cache, show_progress, ends, batch)
    return [vectors[end - len(p.texts) : end] for p, end in zip(prepared, ends, strict=True)], embedded, engine


def indexed_hash(doc: DocRecord, settings: Settings) -> str:
    """What a document is stored under: its content and how it was chunked, so that changing the chunk
    settings re-chunks it on the next `kbqa index` (its unchanged chunks' vectors come from the cache)."""
    return text_hash(f"{doc.hash}|{settings.chunk_chars}|{settings.chunk_overlap}")


def _committed(root: str, embedder_id: str, rebuild: bool, settings: Settings) -> dict[str, str]:
    """doc_id → hash of the committed index (empty when there is none or on `rebuild`), read without taking the
    lock, after the writer's embedder check made up front through the store's reader (any engine): a mismatch
    used to surface after all the embedding (58 s for one file)."""
    if rebuild:  # starts over: neither the old embedder nor the old documents matter
        return {}
    try:
        store = open_store(root, vectors=False, pool_size=settings.pg_pool, settings=settings)
    except IndexMissingError:
        return {}
    try:
        check_embedder(store.root, store.manifest.embedder, embedder_id, writing=True)
        return store.document_hashes()
    finally:
        store.close()


def update_index(
    paths: Iterable[str | Path],
    settings: Settings,
    *,
    sync: bool,
    rebuild: bool = False,
    show_progress: bool | None = None,
    wait: float | None = None,
    strict: bool = False,
) -> BuildReport:
    """Add or update the documents of the files under `paths`: new and changed ones are embedded (vectors of
    chunks seen before come from the cache), unchanged ones are skipped. With `sync`, documents whose file is
    gone, or that lie under `paths` but are no longer produced, are removed. `rebuild` starts from empty.
    A file that cannot be read is skipped (its documents already in the index stay); `strict` stops instead.
    `wait`: seconds to wait for another writer (None: the lock_wait setting).

    Embedding happens before the write lock is taken, so concurrent writers only wait for each other's commit.
    """
    started = time.perf_counter()
    phases: dict[str, float] = {}
    clock = _Clock(phases)
    paths = list(paths)
    with clock("read"):
        loaded = load_documents(paths, strict=strict, limits=Limits.from_settings(settings))
        docs = loaded.docs
    embedder = get_embedder(settings)
    cache = EmbeddingCache(cache_path(settings.cache), embedder.id, embedder.dim)  # one per user, every store's
    try:
        if not is_server(settings.store):  # the store's own cache from before: imported once
            cache.absorb(Path(settings.store) / CACHE_FILE)
        # checks the embedder before any embedding
        committed = _committed(settings.store, embedder.id, rebuild, settings)
        hashes = [indexed_hash(d, settings) for d, _ in docs]
        with clock("chunk"):  # the plan: a record per new or changed document, made once
            planned = {
                n: _prepare(d, p, hashes[n], settings)
                for n, (d, p) in enumerate(docs)
                if committed.get(d.doc_id) != hashes[n]
            }
        with clock("embed"):
            vectors, embedded, engine = _embed(
                embedder, list(planned.values()), cache, show_progress, settings.embed_batch
            )
            planned_vectors = dict(zip(planned, vectors, strict=True))
        write_started = time.perf_counter()
        with open_writer(
            settings.store,
            embedder.id,
            embedder.dim,
            rebuild=rebuild,
            wait=settings.lock_wait if wait is None else wait,
            pool_size=settings.pg_pool,
            settings=settings,
        ) as writer:
            stored = writer.documents()
            kept = {resolved(source) for source, _ in loaded.skipped}  # unreadable now: keep what we had
            removed = writer.remove(_stale([d for d in stored if d.path not in kept], docs, paths, sync))
            existing = writer.document_hashes()
            changed = [n for n, (d, _) in enumerate(docs) if existing.get(d.doc_id) != hashes[n]]
            # another writer committed since the plan: the documents it left different are prepared now
            raced = {n: _prepare(*docs[n], hashes[n], settings) for n in changed if n not in planned}
            vectors, late, _ = _embed(embedder, list(raced.values()), cache, show_progress, settings.embed_batch)
            planned.update(raced)
            planned_vectors.update(zip(raced, vectors, strict=True))
            for n in changed:
                doc = planned[n]
                writer.add(doc.doc, doc.chunks, planned_vectors[n], path=doc.path, stored_hash=doc.stored_hash)
            manifest = writer.commit()
        phases["write"] = time.perf_counter() - write_started
        prepare = getattr(embedder, "prepare_queries", None)
        if prepare is not None:  # a large store made before the fast query engine existed gets it now, once
            prepare(manifest.chunks)
    finally:
        cache.close()
    embedded += late
    written = sum(len(planned[n].chunks) for n in changed)
    return BuildReport(
        files=loaded.files,
        skipped=loaded.skipped,
        duplicates=loaded.duplicates,
        documents=len(docs),
        chunks=written,
        embedded=embedded,
        reused=max(written - embedded, 0),
        unchanged=len(docs) - len(changed),
        removed=removed,
        seconds=time.perf_counter() - started,
        manifest=manifest,
        phases=phases,
        engine=engine,
    )


class _Clock:
    """`with clock(name):` adds the block's wall seconds to phases[name]."""

    def __init__(self, phases: dict[str, float]) -> None:
        self.phases = phases

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - started


def _stale(stored: list[DocumentInfo], docs: list[tuple[DocRecord, str]], paths: list, sync: bool) -> list[str]:
    """Stored documents to drop: those of a re-read file that it no longer produces (e.g. a teaser block);
    with `sync` also those under `paths` no longer produced and those whose file is gone."""
    produced = {d.doc_id for d, _ in docs}
    files = {p for _, p in docs}
    roots = [str(Path(p).resolve()) for p in paths]
    stale = []
    for doc in stored:
        if doc.doc_id in produced:
            continue
        if doc.path in files or (sync and (_within(doc.path, roots) or not os.path.exists(doc.path))):
            stale.append(doc.doc_id)
    return stale


def build_index(
    paths: Iterable[str | Path], settings: Settings, rebuild: bool = False, show_progress: bool | None = None
) -> BuildReport:
    """`kbqa index`: sync the index with the files under `paths` (see `update_index`)."""
    return update_index(paths, settings, sync=True, rebuild=rebuild, show_progress=show_progress)


def add_paths(
    paths: Iterable[str | Path],
    settings: Settings,
    show_progress: bool | None = None,
    wait: float | None = None,
    strict: bool = False,
) -> BuildReport:
    """`kbqa add`: add or update the documents of these files; nothing else is removed."""
    return update_index(paths, settings, sync=False, show_progress=show_progress, wait=wait, strict=strict)


def remove_documents(targets: Iterable[str], settings: Settings, wait: float | None = None) -> RemoveReport:
    """`kbqa remove`: each target is a document id, a source as listed, or a file or folder path (documents
    from files under it). A target that matches nothing is an error and nothing is removed."""
    started = time.perf_counter()
    targets = list(targets)
    if not targets:
        raise InputError("give the document id(s) or path(s) to remove")
    wait = settings.lock_wait if wait is None else wait
    with open_writer(settings.store, None, None, wait=wait, pool_size=settings.pg_pool, settings=settings) as writer:
        stored = writer.documents()
        chosen: list[str] = []
        for target in targets:
            matches = _matching(stored, target)
            if not matches:
                raise InputError(f"no document in the index matches {target} (see `kbqa list`)")
            chosen.extend(m for m in matches if m not in chosen)
        writer.remove(chosen)
        manifest = writer.commit()
    return RemoveReport(chosen, time.perf_counter() - started, manifest)


def _matching(stored: list[DocumentInfo], target: str) -> list[str]:
    exact = [d.doc_id for d in stored if d.doc_id == target]
    if exact:
        return exact + [d.doc_id for d in stored if d.doc_id.startswith(target + "#")]
    path = str(Path(os.path.normpath(target)).resolve())
    return [d.doc_id for d in stored if d.source == target or _within(d.path, [path])]
