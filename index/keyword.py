"""Keyword (BM25) search over chunk texts, in append-only segments: cheap to add to, remove from and load."""

from __future__ import annotations

import json
import os
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from kbqa.text.tokenize import DEFAULT_TOKENIZER, get_tokenizer

# Hand-written on numpy rather than bm25s: bm25s precomputes every score into one matrix, so adding one
# article means re-indexing everything (21 s at 50k chunks, measured), and SQLite FTS5's bm25() takes ~1 s
# per OR query at 50k chunks. Here a segment holds raw postings (term → chunk, tf) and scores are computed at
# query time for the question's terms only (Lucene's BM25, as bm25s's default "lucene" method), so an
# add writes one small segment and a removal is a tombstone. Terms are hashed to ids: no vocabulary to load.
K1, B = 1.5, 0.75
HASH_BITS = 24
MANIFEST = "keyword.json"
ARRAYS = ("ids", "lengths", "terms", "starts", "chunks", "tfs")
MERGE_AT = 8  # segments; beyond this, `save` merges them into one (no re-tokenising)
TOKENIZE_BLOCK = 2048  # chunks tokenised at a time when indexing


def term_ids(tokens: Sequence[str]) -> np.ndarray:
    """Stable ids of tokens (crc32, HASH_BITS bits)."""
    mask = (1 << HASH_BITS) - 1
    return np.fromiter((zlib.crc32(t.encode("utf-8")) & mask for t in tokens), dtype=np.int64, count=len(tokens))


def joined(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """One term's postings (chunk ids, term frequencies) from its parts (segments or blocks); empty for none."""
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    return np.concatenate([c for c, _ in parts]), np.concatenate([t for _, t in parts])


def bm25_top(
    postings: Sequence[tuple[np.ndarray, np.ndarray]],
    lengths: np.ndarray,
    n: int,
    avgdl: float,
    k: int,
    within: np.ndarray | None = None,
) -> list[tuple[int, float]]:
    """The `k` best (chunk id, score) by Lucene's BM25, best first (ties by chunk id), from each query term's live
    postings (chunk ids, term frequencies); `lengths[i]` is chunk i's token count, `n` the live chunks; `within`:
    only these chunk ids compete (e.g. a date range's; the statistics stay the corpus's). Both engines score with
    this, so their rankings agree."""
    scores = np.zeros(len(lengths), np.float32)
    for chunks, tfs in postings:
        if not len(chunks):
            continue
        idf = np.log(1.0 + (n - len(chunks) + 0.5) / (len(chunks) + 0.5))
        norm = K1 * (1.0 - B + B * lengths[chunks] / avgdl)
        scores[chunks] += idf * tfs / (tfs + norm)
    if within is not None:
        mask = np.zeros(len(scores), bool)
        mask[within[(within >= 0) & (within < len(scores))]] = True
        scores[~mask] = 0.0
    hits = np.flatnonzero(scores > 0)
    if len(hits) > k:  # a full sort of every matching chunk cost 6 ms of a 55 ms ask at 100k chunks
        hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
    top = hits[np.lexsort((hits, -scores[hits]))]  # best first; ties by chunk id
    return [(int(i), float(scores[i])) for i in top]


class Segment:
    """Postings of some chunks, sorted by term: terms[i]'s postings are chunks/tfs[starts[i]:starts[i+1]]."""

    def __init__(self, ids: np.ndarray, lengths: np.ndarray, terms: np.ndarray, starts: np.ndarray, chunks, tfs):
        self.ids, self.lengths, self.terms, self.starts = ids, lengths, terms, starts
        self.chunks, self.tfs = chunks, tfs
        self.name = ""

    @classmethod
    def build(cls, ids: Sequence[int], token_lists: Sequence[list[str]]) -> Segment:
        rows, cols, tfs = [], [], []
        for chunk_id, tokens in zip(ids, token_lists, strict=True):
            counts = Counter(tokens)
            rows.append(term_ids(list(counts)))
            cols.append(np.full(len(counts), chunk_id, dtype=np.int64))
            tfs.append(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
        term = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        chunk = np.concatenate(cols) if cols else np.zeros(0, np.int64)
        tf = np.concatenate(tfs) if tfs else np.zeros(0, np.float32)
        lengths = np.array([len(t) for t in token_lists], dtype=np.float32)
        return cls._from_postings(np.asarray(ids, dtype=np.int64), lengths, term, chunk, tf)

    @classmethod
    def _from_postings(cls, ids, lengths, term, chunk, tf) -> Segment:
        order = np.lexsort((chunk, term))
        term, chunk, tf = term[order], chunk[order], tf[order]
        terms, first = np.unique(term, return_index=True)
        starts = np.append(first, len(term)).astype(np.int64)
        return cls(ids, lengths, terms, starts, chunk.astype(np.int64), tf.astype(np.float32))

    @classmethod
    def merge(cls, segments: list[Segment]) -> Segment:
        term = np.concatenate([np.repeat(s.terms, np.diff(s.starts)) for s in segments])
        return cls._from_postings(
            np.concatenate([s.ids for s in segments]),
            np.concatenate([s.lengths for s in segments]),
            term,
            np.concatenate([s.chunks for s in segments]),
            np.concatenate([s.tfs for s in segments]),
        )

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        i = np.searchsorted(self.terms, term)
        if i == len(self.terms) or self.terms[i] != term:
            return self.chunks[:0], self.tfs[:0]
        return self.chunks[self.starts[i] : self.starts[i + 1]], self.tfs[self.starts[i] : self.starts[i + 1]]

    def save(self, path: Path) -> None:
        """One .npy per array in folder `path` (written to a temporary name, then renamed)."""
        tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
        tmp.mkdir()
        for name in ARRAYS:
            with open(tmp / f"{name}.npy", "wb") as out:
                np.save(out, getattr(self, name), allow_pickle=False)
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Segment:
        """Memory-mapped: loading costs nothing until a query touches the postings."""
        seg = cls(*(np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in ARRAYS))
        seg.name = path.name
        return seg


class KeywordIndex:
    """BM25 over chunks: `add`, `remove`, `search`; `save(dir)`/`load(dir)` write and read a manifest of segments."""

    def __init__(self, tokenizer: str = DEFAULT_TOKENIZER) -> None:
        self.tokenizer = tokenizer
        self._tokenize = get_tokenizer(tokenizer)
        self._segments: list[Segment] = []
        self._removed: set[int] = set()
        self._stats_dirty = True

    @classmethod
    def build(cls, chunk_ids: Sequence[int], texts: Sequence[str], tokenizer: str = DEFAULT_TOKENIZER) -> KeywordIndex:
        """An index of these chunks."""
        index = cls(tokenizer)
        index.add(chunk_ids, texts)
        return index

    def __len__(self) -> int:
        return sum(len(s.ids) for s in self._segments) - len(self._removed)

    def add(self, chunk_ids: Sequence[int], texts: Sequence[str]) -> None:
        """Index more chunks (ids not already indexed, or removed before)."""
        if len(chunk_ids):
            # Tokenised a block at a time: the token lists of 62,647 news chunks held at once took 3.6 GB (peak RSS
            # of a full build 4.2 GB); the blocks' postings arrays are then merged into one segment.
            blocks = [
                Segment.build(
                    chunk_ids[a : a + TOKENIZE_BLOCK], [self._tokenize(t) for t in texts[a : a + TOKENIZE_BLOCK]]
                )
                for a in range(0, len(chunk_ids), TOKENIZE_BLOCK)
            ]
            self._segments.append(blocks[0] if len(blocks) == 1 else Segment.merge(blocks))
            self._removed.difference_update(int(i) for i in chunk_ids)
            self._stats_dirty = True

    def remove(self, chunk_ids: Sequence[int]) -> None:
        """Stop returning these chunks."""
        self._removed.update(int(i) for i in chunk_ids)
        self._stats_dirty = True

    def chunk_ids(self) -> np.ndarray:
        """The ids of the chunks indexed and not removed, sorted (a store's check compares them with its own)."""
        ids = np.concatenate([np.asarray(s.ids) for s in self._segments] or [np.zeros(0, np.int64)])
        return np.sort(np.setdiff1d(ids, np.fromiter(self._removed, dtype=np.int64, count=len(self._removed))))

    def _stats(self) -> None:
        if not self._stats_dirty:
            return
        size = 1 + max((int(s.ids.max()) for s in self._segments if len(s.ids)), default=-1)
        self._length = np.zeros(size, np.float32)
        self._alive = np.zeros(size, bool)
        for s in self._segments:
            self._length[s.ids] = s.lengths
            self._alive[s.ids] = True
        if self._removed:
            gone = np.fromiter((i for i in self._removed if i < size), dtype=np.int64)
            self._alive[gone] = False
        self._n = int(self._alive.sum())
        self._avgdl = float(self._length[self._alive].mean()) if self._n else 1.0
        self._stats_dirty = False

    def query_terms(self, query: str) -> list[str]:
        """The query's distinct tokens."""
        return list(dict.fromkeys(self._tokenize(query)))

    def document_frequency(self, term: str) -> int:
        """How many chunks contain `term` (a token as the tokenizer makes it)."""
        (tid,) = term_ids([term])
        self._stats()
        return int(sum(self._alive[s.postings(tid)[0]].sum() for s in self._segments))

    def search(self, query: str, k: int, within: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The `k` best (chunk_id, BM25 score), best first; chunks sharing no term with the query are left out, and
        with `within` (chunk ids), every chunk not in it."""
        self._stats()
        if not self._n or k < 1:
            return []
        found = []
        for tid in np.unique(term_ids(self.query_terms(query))):
            chunks, tfs = joined([s.postings(tid) for s in self._segments])
            keep = self._alive[chunks]
            found.append((chunks[keep], tfs[keep]))
        return bm25_top(found, self._length, self._n, self._avgdl, k, within)

    def save(self, folder: str | Path, manifest: str = MANIFEST) -> None:
        """Write new segments, then atomically replace `manifest` (segments + tombstones); merges many segments."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if len(self._segments) > MERGE_AT:
            self._segments = [Segment.merge(self._segments)]
        taken = {p.name for p in folder.glob("kw-*")}
        n = 0
        for seg in self._segments:
            if seg.name and (folder / seg.name).is_dir():
                continue
            while f"kw-{n:06d}" in taken:
                n += 1
            seg.name = f"kw-{n:06d}"
            taken.add(seg.name)
            seg.save(folder / seg.name)
        data = {"tokenizer": self.tokenizer, "segments": [s.name for s in self._segments],
                "removed": sorted(self._removed), "k1": K1, "b": B}  # fmt: skip
        tmp = folder / f"{manifest}.tmp-{os.getpid()}"
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, folder / manifest)

    @classmethod
    def load(cls, folder: str | Path, manifest: str = MANIFEST) -> KeywordIndex:
        """The index `save` wrote to `folder`."""
        folder = Path(folder)
        data = json.loads((folder / manifest).read_text(encoding="utf-8"))
        index = cls(data["tokenizer"])
        index._segments = [Segment.load(folder / name) for name in data["segments"]]
        index._removed = set(data["removed"])
        return index


def manifest_name(generation: int) -> str:
    """The manifest file of a generation's keyword index (segments are shared between generations)."""
    return f"keyword-{generation:06d}.json"


def build_for_generation(
    folder: str | Path, generation: int, chunk_ids: Sequence[int], texts: Sequence[str]
) -> KeywordIndex:
    """Index a generation's chunks from scratch and save it in `folder` (the store's data folder)."""
    index = KeywordIndex.build(chunk_ids, texts)
    index.save(folder, manifest_name(generation))
    return index


def update_for_generation(
    folder: str | Path,
    previous: int,
    generation: int,
    added: tuple[Sequence[int], Sequence[str]],
    removed: Sequence[int],
) -> KeywordIndex | None:
    """The previous generation's index plus `added` (chunk ids, texts) minus `removed` chunk ids, saved as
    `generation`: one new segment and a manifest. None when the previous generation has no keyword index."""
    index = load(folder, previous)
    if index is None:
        return None
    index.remove(removed)
    index.add(*added)
    index.save(folder, manifest_name(generation))
    return index


def load(folder: str | Path, generation: int) -> KeywordIndex | None:
    """The keyword index saved for `generation` in `folder`, or None when there is none."""
    path = Path(folder) / manifest_name(generation)
    return KeywordIndex.load(folder, path.name) if path.is_file() else None


def prune(folder: str | Path, keep: Iterable[int]) -> None:
    """Delete the keyword manifests of generations not in `keep`, then the segments no kept manifest names (call
    after a commit, or after recovering from a killed writer, with the generations readers may still load)."""
    import shutil

    folder = Path(folder)
    kept = {manifest_name(g) for g in keep}
    used: set[str] = set()
    for path in folder.glob("keyword-*.json"):
        if path.name in kept:
            used.update(json.loads(path.read_text(encoding="utf-8"))["segments"])
        else:
            path.unlink(missing_ok=True)
    for path in folder.glob("kw-*"):
        if path.name not in used:
            shutil.rmtree(path, ignore_errors=True)


def for_store(store: object) -> KeywordIndex:
    """The keyword index of a store's current generation: saved with it, or else built from its chunks."""
    saved = store.keywords()
    return saved if saved is not None else KeywordIndex.build(*store.chunk_texts())
