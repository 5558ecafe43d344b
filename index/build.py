"""Bring the index in step with files: clean, chunk, embed what is new or changed, commit atomically."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.chunking import chunk_document, embedding_text
from index.clean import clean_document
from index.config import Settings
from index.embed_cache import EmbeddingCache
from index.embedders import Embedder, get_embedder
from index.errors import InputError
from index.loaders import display_path, find_files, read_files
from index.records import ChunkRecord, DocRecord, text_hash
from index.store import Manifest, StoreWriter

EMBED_BATCH = 128  # vectors are cached after each batch: a killed build loses at most one batch


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

    def summary(self) -> str:
        return (
            f"indexed {self.files} file(s): {self.documents} document(s), {self.chunks} new or changed chunk(s) "
            f"({self.embedded} embedded, {self.reused} from cache), {self.unchanged} document(s) unchanged, "
            f"{self.removed} removed; the index now holds {self.manifest.documents} document(s), "
            f"{self.manifest.chunks} chunk(s) [{self.seconds:.1f} s]"
        )


def _under(source: str, paths: list[str | Path]) -> bool:
    """Whether `source` is one of `paths` or lies in one of them (all as `display_path` writes them)."""
    for given in paths:
        root = display_path(Path(os.path.normpath(given)))
        if source == root or source.startswith(root.rstrip("/") + "/") or root == ".":
            return True
    return False


def load_documents(paths: Iterable[str | Path]) -> tuple[int, list[DocRecord]]:
    """(number of files, cleaned document records) for every supported file under `paths`."""
    files = find_files(paths)
    docs = [doc for raw in read_files(files) for doc in clean_document(raw.text, raw.source)]
    if not docs:
        raise InputError(f"no text found in {', '.join(str(p) for p in paths)}")
    return len(files), docs


def embed_chunks(
    embedder: Embedder, texts: list[str], cache: EmbeddingCache, show_progress: bool
) -> tuple[np.ndarray, int]:
    """Vectors for `texts`, from the cache where possible; (vectors, number embedded now)."""
    hashes = [text_hash(t) for t in texts]
    known = cache.get(hashes)
    todo = sorted({h: t for h, t in zip(hashes, texts, strict=True) if h not in known}.items(), key=lambda x: len(x[1]))
    if todo:
        from tqdm import tqdm

        with tqdm(total=len(todo), unit="chunk", desc="embedding", disable=not show_progress, file=sys.stderr) as bar:
            for i in range(0, len(todo), EMBED_BATCH):
                batch = todo[i : i + EMBED_BATCH]
                vectors = embedder.embed_passages([t for _, t in batch])
                cache.put([h for h, _ in batch], vectors)
                known.update(zip([h for h, _ in batch], vectors, strict=True))
                bar.update(len(batch))
    out = np.stack([known[h] for h in hashes]) if hashes else np.zeros((0, embedder.dim), np.float32)
    return out, len(todo)


def build_index(
    paths: Iterable[str | Path], settings: Settings, rebuild: bool = False, show_progress: bool | None = None
) -> BuildReport:
    """Index the files under `paths`: new and changed documents are embedded, unchanged ones skipped,
    documents of files that are gone removed. `rebuild` starts from an empty index."""
    started = time.perf_counter()
    paths = list(paths)
    n_files, docs = load_documents(paths)
    if show_progress is None:
        show_progress = sys.stderr.isatty()
    embedder = get_embedder(settings.embedder)
    with StoreWriter(settings.store, embedder.id, embedder.dim, rebuild=rebuild) as writer:
        existing = writer.document_hashes()
        produced = {d.doc_id for d in docs}
        gone = [doc_id for doc_id in existing if doc_id not in produced and _under(doc_id.split("#", 1)[0], paths)]
        removed = writer.remove(gone)
        changed = [d for d in docs if existing.get(d.doc_id) != d.hash]
        chunked: list[tuple[DocRecord, list[ChunkRecord]]] = [
            (d, chunk_document(d, settings.chunk_chars, settings.chunk_overlap)) for d in changed
        ]
        texts = [embedding_text(d, c) for d, chunks in chunked for c in chunks]
        cache = EmbeddingCache(Path(settings.store) / "embeddings.sqlite", embedder.id, embedder.dim)
        try:
            vectors, embedded = embed_chunks(embedder, texts, cache, show_progress)
        finally:
            cache.close()
        offset = 0
        for doc, chunks in chunked:
            writer.add(doc, chunks, vectors[offset : offset + len(chunks)])
            offset += len(chunks)
        manifest = writer.commit()
    return BuildReport(
        files=n_files,
        documents=len(docs),
        chunks=len(texts),
        embedded=embedded,
        reused=len(texts) - embedded,
        unchanged=len(docs) - len(changed),
        removed=removed,
        seconds=time.perf_counter() - started,
        manifest=manifest,
    )
