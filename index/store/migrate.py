"""Move an index between stores (a folder or a postgresql:// URL) without re-embedding: its stored vectors go along."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kbqa.config import Settings
from kbqa.errors import IndexMissingError, InputError
from kbqa.index.store.api import StoreReader, StoreWriterAPI, display, is_server, open_store, open_writer
from kbqa.index.store.rows import StoredDocument

BATCH_CHUNKS = 2000  # chunks whose vectors are read from the source at once


@dataclass(frozen=True)
class MigrateReport:
    """What a migration moved."""

    source: str
    destination: str
    documents: int
    chunks: int
    embedder: str
    seconds: float

    def summary(self) -> str:
        return (
            f"moved {self.documents} document(s), {self.chunks} chunk(s) (embedder {self.embedder}) "
            f"from {self.source} to {self.destination} [{self.seconds:.1f} s]"
        )


Progress = Callable[[int, int, int], None]  # (documents done, documents in all, chunks done)


def _same(a: str, b: str) -> bool:
    if is_server(a) or is_server(b):
        return a == b
    return Path(a).resolve() == Path(b).resolve()


def _check_destination(destination: str, rebuild: bool, options: dict[str, Any]) -> None:
    """A one-line error when the destination already holds documents and `rebuild` was not asked for."""
    if rebuild:
        return
    try:
        reader = open_store(destination, vectors=False, **options)
    except IndexMissingError:
        return
    try:
        held = reader.manifest.documents
        where = reader.root
    finally:
        reader.close()
    if held:
        raise InputError(
            f"{where} already holds an index ({held} document(s)): use --rebuild to replace it with the migrated one"
        )


def migrate(
    source: str | Path,
    destination: str | Path,
    *,
    rebuild: bool = False,
    wait: float = Settings.lock_wait,
    progress: Progress | None = None,
    source_options: dict[str, Any] | None = None,
    destination_options: dict[str, Any] | None = None,
) -> MigrateReport:
    """Copy the committed generation of `source` (documents, chunks with offsets, marks and metadata, their
    vectors) into `destination` as one new generation, in one commit. A destination holding documents is
    refused unless `rebuild`; on any failure the destination is left as it was (a folder this call created
    is removed again)."""
    source, destination = str(source), str(destination)
    if _same(source, destination):
        raise InputError(f"--from and --to name the same store: {display(destination)}")
    started = time.perf_counter()
    reader = open_store(source, vectors=False, **(source_options or {}))
    created = None if is_server(destination) or Path(destination).exists() else Path(destination)
    try:
        manifest = reader.manifest
        _check_destination(destination, rebuild, destination_options or {})
        with open_writer(
            destination, manifest.embedder, manifest.dim, rebuild=rebuild, wait=wait, **(destination_options or {})
        ) as writer:
            if not rebuild and writer.documents():  # filled by another process since the check
                raise InputError(f"{display(destination)} already holds an index: use --rebuild to replace it")
            documents, chunks = _copy(reader, writer, manifest.documents, progress)
            if (documents, chunks) != (manifest.documents, manifest.chunks):
                raise InputError(
                    f"{reader.root} changed while it was read ({documents} document(s), {chunks} chunk(s) read, "
                    f"{manifest.documents}, {manifest.chunks} committed): nothing was written; try again"
                )
            written = writer.commit()
    except BaseException:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise
    finally:
        reader.close()
    where = getattr(writer, "root", display(destination))
    return MigrateReport(
        str(reader.root), str(where), written.documents, written.chunks, written.embedder,
        time.perf_counter() - started,
    )  # fmt: skip


def _copy(reader: StoreReader, writer: StoreWriterAPI, total: int, progress: Progress | None) -> tuple[int, int]:
    """Add every document of `reader` to `writer` with its stored vectors; (documents, chunks) added."""
    pending: list[StoredDocument] = []
    counts = [0, 0]

    def flush() -> None:
        ids = [i for record in pending for i in record.chunk_ids]
        vectors = reader.vectors(ids) if ids else np.zeros((0, reader.manifest.dim), np.float32)
        at = 0
        for record in pending:
            n = len(record.chunk_ids)
            vectors_of = vectors[at : at + n]
            writer.add(record.doc, record.chunks, vectors_of, path=record.path, stored_hash=record.stored_hash)
            at += n
            counts[0] += 1
            counts[1] += n
        pending.clear()
        if progress is not None:
            progress(counts[0], total, counts[1])

    size = 0
    for record in reader.document_records():
        pending.append(record)
        size += len(record.chunk_ids)
        if size >= BATCH_CHUNKS:
            flush()
            size = 0
    flush()
    return counts[0], counts[1]
