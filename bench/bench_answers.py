"""Chunk size × sentence rerank (× diversity) on an eval corpus: retrieval, cited-answer and answer_ok rates.

Also counts what stands between the cited-answer rate and 100%: questions with no passage holding a gold answer
among the answerer's passages, and answers that cite other passages.

    python bench/bench_answers.py --corpus /tmp/vinewsqa/corpus.jsonl --questions /tmp/vinewsqa/questions.jsonl \
        --cache /tmp/kbqa6/cache --chunk-chars 700,1000,1500 [--per-article 1,2]
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from kbqa.config import Settings
from kbqa.index.embed.embedders import get_embedder
from kbqa.index.keyword import KeywordIndex
from kbqa.index.store.embedded import Store
from kbqa.qa import rerank
from kbqa.qa.answer import ExtractiveAnswerer
from kbqa.qa.eval import DEPTH, _norm, contains_answer, corpus_store, first_gold_rank, read_corpus, read_questions
from kbqa.qa.search import FixedKeywords, HybridRetriever


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


def run(corpus: str, questions: str, cache: str, chunk_chars: list[int], caps: list[int]) -> None:
    docs = read_corpus(corpus)
    asked = read_questions(questions)
    print(
        "| chunk chars | sentence rerank, passages per article | Hit@1 | Hit@5 | MRR@10 "
        "| gold answer in top 5 passages | cited | answer_ok |"
    )
    print("|---" * 8 + "|")
    default_weight = rerank.SENTENCE_WEIGHT
    for size in chunk_chars:
        with corpus_store(docs, replace(Settings(), chunk_chars=size), cache) as (settings, ids):
            store = Store(settings.store)
            embedder = get_embedder(settings)
            cached = CachedEmbedder(embedder)
            search = HybridRetriever(store, cached, FixedKeywords(KeywordIndex.build(*store.chunk_texts())))
            answerer = ExtractiveAnswerer(cached)
            for sentence_weight, cap in [(0.0, None), (default_weight, None), *((default_weight, c) for c in caps)]:
                rerank.SENTENCE_WEIGHT = sentence_weight
                hits1 = hits5 = mrr = reachable = cited = answer_ok = 0.0
                for q in asked:
                    retrieval = search.retrieve(q.question, DEPTH)
                    passages = diversify(retrieval.passages, cap)
                    rank = first_gold_rank([ids.get(p.doc_id, p.doc_id) for p in passages], q.doc_id)
                    if rank is not None:
                        hits1 += rank == 1
                        hits5 += rank <= 5
                        mrr += 1 / rank
                    top = passages[: settings.k]
                    reachable += contains_answer(top, q.answers)
                    out = answerer.answer(q.question, replace(retrieval, passages=top))
                    cited += contains_answer([c.passage for c in out.citations], q.answers)
                    answer_ok += out.found and any(_norm(a) in _norm(out.answer) for a in q.answers if a.strip())
                n = len(asked)
                print(
                    f"| {size} | {'on' if sentence_weight else 'off'}, {cap or 'any'} | "
                    f"{hits1 / n:.3f} | {hits5 / n:.3f} | "
                    f"{mrr / n:.3f} | {reachable / n:.3f} | {cited / n:.3f} | {answer_ok / n:.3f} |",
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
    parser.add_argument("--per-article", default="", help="diversity variants: at most N passages per article")
    args = parser.parse_args()
    run(
        args.corpus,
        args.questions,
        args.cache,
        [int(x) for x in args.chunk_chars.split(",")],
        [int(x) for x in args.per_article.split(",") if x],
    )


if __name__ == "__main__":
    main()
