"""Chunk size × sentence rerank × answerer rank weight on an eval corpus: retrieval and cited-answer rates.

Also counts what stands between the cited-answer rate and 100%: questions with no passage holding a gold answer
among the answerer's passages, and answers that cite other passages.

    python bench/bench_answers.py --corpus /tmp/vinewsqa/corpus.jsonl --questions /tmp/vinewsqa/questions.jsonl \
        --cache /tmp/kbqa6/cache --chunk-chars 700,1000,1500 [--per-article 1,2]
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from index.config import Settings
from index.embedders import get_embedder
from index.keyword import KeywordIndex
from index.store import Store
from qa import answer, rerank
from qa.eval import DEPTH, contains_answer, corpus_store, first_gold_rank, read_corpus, read_questions
from qa.search import HybridSearch


class CachedEmbedder:
    """The answerer's embedder, memoised: its cross-lingual fallback embeds the same sentences in every variant."""

    def __init__(self, embedder) -> None:
        self.embedder, self.queries, self.passages = embedder, {}, {}

    def embed_query(self, text: str):
        if text not in self.queries:
            self.queries[text] = self.embedder.embed_query(text)
        return self.queries[text]

    def embed_passages(self, texts: list[str]):
        key = tuple(texts)
        if key not in self.passages:
            self.passages[key] = self.embedder.embed_passages(texts)
        return self.passages[key]


def diversify(passages: list, cap: int | None) -> list:
    """At most `cap` passages per document ahead of the rest (a diversity variant; None: unchanged)."""
    if cap is None:
        return passages
    seen: dict[str, int] = {}
    head, tail = [], []
    for p in passages:
        seen[p.doc_id] = seen.get(p.doc_id, 0) + 1
        (head if seen[p.doc_id] <= cap else tail).append(p)
    return head + tail


def run(
    corpus: str, questions: str, cache: str, chunk_chars: list[int], rank_weights: list[float], caps: list[int]
) -> None:
    docs = read_corpus(corpus)
    asked = read_questions(questions)
    print(
        "| chunk chars | sentence rerank, passages per article | Hit@1 | Hit@5 | MRR@10 "
        "| gold answer in top 5 passages | " + " | ".join(f"cited, rank weight {w:g}" for w in rank_weights) + " |"
    )
    print("|---" * (6 + len(rank_weights)) + "|")
    default_weight = rerank.SENTENCE_WEIGHT
    for size in chunk_chars:
        with corpus_store(docs, replace(Settings(), chunk_chars=size), cache) as (settings, ids):
            store = Store(settings.store)
            embedder = get_embedder(settings.embedder)
            cached = CachedEmbedder(embedder)
            search = HybridSearch(store, cached, KeywordIndex.build(*store.chunk_texts()), settings.k)
            answerer = answer.ExtractiveAnswerer(cached)
            for sentence_weight, cap in [(0.0, None), (default_weight, None), *((default_weight, c) for c in caps)]:
                rerank.SENTENCE_WEIGHT = sentence_weight
                hits1 = hits5 = mrr = reachable = 0.0
                cited = [0.0] * len(rank_weights)
                for q in asked:
                    passages = diversify(search.search(q.question, DEPTH), cap)
                    rank = first_gold_rank([ids.get(p.doc_id, p.doc_id) for p in passages], q.doc_id)
                    if rank is not None:
                        hits1 += rank == 1
                        hits5 += rank <= 5
                        mrr += 1 / rank
                    top = passages[: settings.k]
                    reachable += contains_answer(top, q.answers)
                    for i, weight in enumerate(rank_weights):
                        answer.RANK_WEIGHT = weight
                        out = answerer({"question": q.question, "passages": top})
                        cited[i] += contains_answer([c.passage for c in out.citations], q.answers)
                n = len(asked)
                print(
                    f"| {size} | {'on' if sentence_weight else 'off'}, {cap or 'any'} | "
                    f"{hits1 / n:.3f} | {hits5 / n:.3f} | "
                    f"{mrr / n:.3f} | {reachable / n:.3f} | " + " | ".join(f"{c / n:.3f}" for c in cited) + " |",
                    flush=True,
                )
            rerank.SENTENCE_WEIGHT = default_weight
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--questions", required=True)
    parser.add_argument("--cache", default="/tmp/kbqa-eval-cache", help="embedding cache shared between runs")
    parser.add_argument("--chunk-chars", default="700,1000,1500")
    parser.add_argument("--rank-weights", default="0.5,1,2")
    parser.add_argument("--per-article", default="", help="diversity variants: at most N passages per article")
    args = parser.parse_args()
    run(
        args.corpus,
        args.questions,
        args.cache,
        [int(x) for x in args.chunk_chars.split(",")],
        [float(x) for x in args.rank_weights.split(",")],
        [int(x) for x in args.per_article.split(",") if x],
    )


if __name__ == "__main__":
    main()
