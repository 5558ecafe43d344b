"""Retrieval variants on an eval corpus: dense, BM25 per tokenizer, naive and weighted fusion (Hit@1/5, MRR@10)."""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import numpy as np

from index.config import Settings
from index.embedders import get_embedder
from index.keyword import KeywordIndex, store_chunks
from index.store import Store
from qa import hybrid
from qa.eval import corpus_store, read_corpus, read_questions

N = 30


def query_vectors(embedder, questions: list[str], cache: Path) -> np.ndarray:
    """Query embeddings, cached in an .npy keyed by the questions' hash (embedding 2.5k queries takes minutes)."""
    key = hashlib.sha256("\n".join([embedder.id, *questions]).encode()).hexdigest()[:16]
    path = cache / f"queries-{key}.npy"
    if path.is_file():
        return np.load(path)
    vectors = np.stack([embedder.embed_query(q) for q in questions])
    np.save(path, vectors)
    return vectors


def score(rankings: list[list[int]], gold: list[str], doc_of: dict[int, str]) -> str:
    h1 = h5 = mrr = 0.0
    for ranked, g in zip(rankings, gold, strict=True):
        docs = [doc_of[c] for c in ranked[:10]]
        if g in docs:
            r = docs.index(g) + 1
            h1 += r == 1
            h5 += r <= 5
            mrr += 1 / r
    n = len(gold)
    return f"| {h1 / n:.3f} | {h5 / n:.3f} | {mrr / n:.3f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--questions", required=True, nargs="+")
    parser.add_argument("--cache", default="/tmp/kbqa-eval-cache")
    parser.add_argument("--tokenizers", default="syllable,bigram,pyvi")
    args = parser.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    docs = read_corpus(args.corpus)
    with corpus_store(docs, Settings(), cache=cache) as (settings, ids):
        store = Store(settings.store)
        embedder = get_embedder(settings.embedder)
        chunk_ids, texts = store_chunks(store)
        doc_of = {cid: ids[p.doc_id] for cid, p in store.passages(chunk_ids).items()}
        indexes = {}
        for name in args.tokenizers.split(","):
            started = time.perf_counter()
            indexes[name] = KeywordIndex.build(chunk_ids, texts, tokenizer=name)
            print(f"keyword index {name}: {len(chunk_ids)} chunks in {time.perf_counter() - started:.1f} s")
        for qfile in args.questions:
            questions = read_questions(qfile)
            gold = [q.doc_id for q in questions]
            vectors = query_vectors(embedder, [q.question for q in questions], cache)
            dense = [[(p.chunk_id, p.score) for p in store.search(v, N)] for v in vectors]
            print(f"\n{qfile} ({len(questions)} questions)\n\n| variant | Hit@1 | Hit@5 | MRR@10 |\n|---|---|---|---|")
            print("| dense (e5-small-q4) " + score([[c for c, _ in d] for d in dense], gold, doc_of))
            keyword = {}
            for name, index in indexes.items():
                keyword[name] = [index.search(q.question, N) for q in questions]
                print(f"| BM25 {name} " + score([[c for c, _ in r] for r in keyword[name]], gold, doc_of))
            for name, index in indexes.items():
                weights = [hybrid.keyword_weight(q.question, index) for q in questions]
                fused = [hybrid.fuse(d, kw, 1.0, 10) for d, kw in zip(dense, keyword[name], strict=True)]
                print(f"| RRF naive, {name} " + score([[c for c, _ in f] for f in fused], gold, doc_of))
                for scale in (0.5, 1.0, 1.5, 2.0):
                    fused = [
                        hybrid.fuse(d, kw, scale * w, 10)
                        for d, kw, w in zip(dense, keyword[name], weights, strict=True)
                    ]
                    label = f"RRF weighted (language × coverage) × {scale}, {name}"
                    print(f"| {label} " + score([[c for c, _ in f] for f in fused], gold, doc_of))
        store.close()


if __name__ == "__main__":
    main()
