"""Where a warm ask's time goes, per store: query embedding, dense search, keyword search, passages, the whole ask.

    python bench/bench_ask_steps.py --store /tmp/kbqa-scale/store-100000 \\
        --store "postgresql://postgres:@/kbqa_bench_stores?host=/tmp/kbqa-pgbench" [--questions 60]

Questions: bench_scale's Vietnamese article titles. Each store is warmed with 5 asks first; p50 / p95 ms per step.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engines import cpu_flags  # noqa: E402
from bench_scale import loadavg, questions  # noqa: E402


def steps(store: str, qs: list[str]) -> dict[str, list[float]]:
    from kbqa.config import load_settings
    from kbqa.qa.chain import Assistant
    from kbqa.qa.search import StoreKeywords

    assistant = Assistant(load_settings({"store": store}))  # KBQA_QUERY_ENGINE too (see main)
    store_keywords = StoreKeywords(assistant.store)
    for q in qs[:5]:
        assistant.ask(q)
    times: dict[str, list[float]] = {"query embedding": [], "dense search": [], "keyword search": [], "passages": []}
    times["whole ask"] = []
    for q in qs:
        assistant.embedder._queries.clear()  # each step does its own work
        started = time.perf_counter()
        vector = assistant.embedder.embed_query(q)
        times["query embedding"].append(time.perf_counter() - started)
        started = time.perf_counter()
        assistant.store.search(vector, 20)
        times["dense search"].append(time.perf_counter() - started)
        keywords = store_keywords.current()
        started = time.perf_counter()
        hits = keywords.search(q, 20)
        for term in keywords.query_terms(q):
            keywords.document_frequency(term)
        times["keyword search"].append(time.perf_counter() - started)
        started = time.perf_counter()
        assistant.store.passages([c for c, _ in hits])
        times["passages"].append(time.perf_counter() - started)
        assistant.embedder._queries.clear()
        started = time.perf_counter()
        assistant.ask(q)
        times["whole ask"].append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", action="append", required=True, help="a store folder or postgresql:// URL")
    parser.add_argument("--questions", type=int, default=60)
    args = parser.parse_args()
    os.environ.setdefault("KBQA_QUERY_ENGINE", "onnx")
    qs = questions(200)[: args.questions]
    print(f"cpu: {cpu_flags()}\nload average at start: {loadavg()}\n")
    results = {store: steps(store, qs) for store in args.store}
    print("| step | " + " | ".join(f"`{s}`" for s in args.store) + " |")
    print("|---|" + "---|" * len(args.store))
    for step in next(iter(results.values())):
        cells = []
        for times in results.values():
            xs = sorted(x * 1000 for x in times[step])
            cells.append(f"{statistics.median(xs):.1f} / {xs[int(0.95 * len(xs)) - 1]:.1f}")
        print(f"| {step} | " + " | ".join(cells) + " |")
    print(f"\nload average at end: {loadavg()}")


if __name__ == "__main__":
    main()
