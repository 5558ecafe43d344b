"""Retrieval variants on an eval corpus: dense, BM25 per tokenizer, naive and weighted fusion (Hit@1/5, MRR@10)."""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import numpy as np

from kbqa.config import Settings
from kbqa.index.embed.embedders import get_embedder
from kbqa.index.keyword import KeywordIndex
from kbqa.index.store.embedded import Store
from kbqa.qa import search as hybrid
from kbqa.qa.eval import corpus_store, read_corpus, read_questions
from kbqa.qa.rerank import term_weights

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


def rrf(dense: list, keyword: list, weight: float, k: int, c: int = 60) -> list[tuple[int, float]]:
    """Weighted reciprocal-rank fusion (Cormack et al. 2009), the baseline the score fusion replaced."""
    scores: dict[int, float] = {}
    for rank, (cid, _) in enumerate(dense, start=1):
        scores[cid] = scores.get(cid, 0.0) + 1.0 / (c + rank)
    for rank, (cid, _) in enumerate(keyword, start=1):
        scores[cid] = scores.get(cid, 0.0) + weight / (c + rank)
    return sorted(scores.items(), key=lambda item: -item[1])[:k]


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


def time_keyword_index(articles: str, sizes: list[int]) -> None:
    """Keyword index at N 700-char chunks of news articles (repeated past ~70k): build, load, add one article
    (load + add + save), query latency."""
    import json
    import tempfile

    from kbqa.index import keyword
    from kbqa.index.chunking import chunk_document
    from kbqa.index.records import DocRecord

    texts: list[str] = []
    extra: list[str] = []
    with open(articles, encoding="utf-8") as lines:
        for line in lines:
            a = json.loads(line)
            doc = DocRecord(a["id"], a["id"], a["title"], f"{a['title']}\n{a['text']}")
            chunks = [c.text for c in chunk_document(doc, 700, 1)]
            if not extra and len(chunks) >= 5:
                extra = chunks  # the article added to the index
            else:
                texts.extend(chunks)
            if len(texts) >= max(sizes):
                break
    texts = [texts[i % len(texts)] for i in range(max(sizes))]  # the corpus repeated when it has fewer chunks
    queries = ["Giá xăng tăng bao nhiêu vào tháng 2?", "Kết quả xổ số Vietlott ngày 6/2", "Hà Nội rét đậm bao lâu?"]
    print("| chunks | build s | load ms | add 1 article (load+add+save) s | query p50 ms | query p95 ms |")
    print("|---|---|---|---|---|---|")
    for n in sizes:
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            keyword.build_for_generation(folder, 1, list(range(n)), texts[:n])
            build = time.perf_counter() - started
            started = time.perf_counter()
            index = keyword.load(folder, 1)
            load = time.perf_counter() - started
            started = time.perf_counter()
            keyword.update_for_generation(folder, 1, 2, (list(range(n, n + len(extra))), extra), removed=[0])
            add = time.perf_counter() - started
            index = keyword.load(folder, 2)
            index.search("khởi động", 5)
            lat = []
            for _ in range(20):
                for q in queries:
                    t = time.perf_counter()
                    index.search(q, 30)
                    lat.append(time.perf_counter() - t)
            p50, p95 = np.percentile(np.array(lat) * 1000, [50, 95])
            print(f"| {n} | {build:.1f} | {load * 1000:.0f} | {add:.2f} | {p50:.1f} | {p95:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", help="comma-separated chunk counts: time the keyword index on --articles instead")
    parser.add_argument("--articles", default="/work/shared/data/news_vi/articles.jsonl")
    parser.add_argument("--corpus")
    parser.add_argument("--questions", nargs="+")
    parser.add_argument("--cache", default="/tmp/kbqa-eval-cache")
    parser.add_argument("--tokenizers", default="syllable,bigram,pyvi")
    args = parser.parse_args()
    if args.scale:
        time_keyword_index(args.articles, [int(n) for n in args.scale.split(",")])
        return
    if not args.corpus or not args.questions:
        parser.error("give --corpus and --questions (or --scale)")
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    docs = read_corpus(args.corpus)
    with corpus_store(docs, Settings(), cache=cache) as (settings, ids):
        store = Store(settings.store)
        embedder = get_embedder(settings)
        chunk_ids, texts = store.chunk_texts()
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
            dense = [store.search(v, N) for v in vectors]
            print(f"\n{qfile} ({len(questions)} questions)\n\n| variant | Hit@1 | Hit@5 | MRR@10 |\n|---|---|---|---|")
            print("| dense (e5-small-q4) " + score([[c for c, _ in d] for d in dense], gold, doc_of))
            keyword = {}
            for name, index in indexes.items():
                keyword[name] = [index.search(q.question, N) for q in questions]
                print(f"| BM25 {name} " + score([[c for c, _ in r] for r in keyword[name]], gold, doc_of))
            for name, index in indexes.items():
                weights = []
                for q in questions:
                    frequencies = hybrid.document_frequencies(q.question, index)
                    share = hybrid.corpus_share(term_weights(frequencies, len(index)), frequencies)
                    weights.append(hybrid.keyword_weight(q.question, share))
                for label, fuse in (("RRF", rrf), ("score fusion", hybrid.fuse)):
                    fused = [fuse(d, kw, 1.0, 10) for d, kw in zip(dense, keyword[name], strict=True)]
                    print(
                        f"| {label} naive (weight 1), {name} " + score([[c for c, _ in f] for f in fused], gold, doc_of)
                    )
                    for scale in (0.2, 1.0, 2.0) if label == "RRF" else (0.2, 0.6, 1.0, 1.6):
                        fused = [
                            fuse(d, kw, scale * w, 10) for d, kw, w in zip(dense, keyword[name], weights, strict=True)
                        ]
                        label_w = f"{label}, weight {scale * hybrid.KEYWORD_WEIGHT:g} × language × coverage, {name}"
                        print(f"| {label_w} " + score([[c for c, _ in f] for f in fused], gold, doc_of))
        store.close()


if __name__ == "__main__":
    main()
