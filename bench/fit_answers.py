"""Fit the extractive answerer's sentence scorer and support score on half of a QA dev set, report the other half.

    python bench/fit_answers.py --corpus /tmp/vinewsqa/corpus.jsonl --questions /tmp/vinewsqa/questions.jsonl \
        --cache /tmp/kbqa10/cache --write

Half of the corpus's articles (`kbqa eval --leave-out 0.5`'s choice) are indexed, so about half of the questions
have no answer in the index. Articles are split again by another hash into a tuning half and a held-out half:
the weights, the support threshold and the second-sentence rule are chosen on the tuning half's questions only,
and the figures printed for the held-out half are the honest ones. `--write` rewrites qa/answer/weights.py.
Needs scikit-learn (a benchmark tool, not a kbqa dependency).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kbqa.config import Settings  # noqa: E402
from kbqa.index.keyword import KeywordIndex  # noqa: E402
from kbqa.qa.answer import extractive  # noqa: E402
from kbqa.qa.answer.sentences import FEATURES, candidates  # noqa: E402
from kbqa.qa.eval import _norm, corpus_store, left_out, read_corpus, read_questions  # noqa: E402
from kbqa.text.language import is_vietnamese  # noqa: E402

SUPPORT = extractive.SUPPORT_FEATURES


def tuning(doc_id: str) -> bool:
    """The tuning half of the articles (a hash independent of left_out's)."""
    return int(hashlib.sha256(doc_id.encode("utf-8")).hexdigest()[8:16], 16) % 2 == 0


def holds(text: str, answers: list[str]) -> bool:
    return any(_norm(a) in _norm(text) for a in answers if a.strip())


def collect(args: argparse.Namespace) -> list[dict]:
    """Per Vietnamese question: its candidates' features and labels, and the retrieval evidence."""
    from kbqa.index.embed.embedders import get_embedder
    from kbqa.index.store.embedded import Store
    from kbqa.qa.search import FixedKeywords, HybridRetriever

    docs = read_corpus(args.corpus)
    questions = [q for q in read_questions(args.questions) if is_vietnamese(q.question)]
    kept = [d for d in docs if not left_out(str(d["id"]), args.leave_out)]
    rows = []
    with corpus_store(kept, Settings(), args.cache) as (settings, ids):
        indexed = set(ids.values())
        store = Store(settings.store)
        keywords = FixedKeywords(KeywordIndex.build(*store.chunk_texts()))
        search = HybridRetriever(store, get_embedder(settings), keywords)
        answerer = extractive.ExtractiveAnswerer(None)
        started = time.perf_counter()
        for i, q in enumerate(questions):
            retrieval = search.retrieve(q.question, 5)
            passages, evidence = retrieval.passages, retrieval.evidence
            cands = [c for c in candidates(q.question, passages, evidence.terms) if c.quotable]
            rows.append(
                {
                    "doc_id": q.doc_id,
                    "answerable": q.doc_id in indexed,
                    "X": np.array([c.features for c in cands]) if cands else np.zeros((0, len(FEATURES))),
                    "y": np.array([holds(c.text, q.answers) for c in cands], bool),
                    "len": np.array([len(c.text) + 4 for c in cands]),  # + " [n]"
                    "same": [(c.rank, c.start) for c in cands],
                    "passage_cov": answerer._passage_coverage(passages, evidence),
                    "ranks": [c.rank for c in cands],
                    "evidence": evidence,
                }
            )
            if i % 500 == 0:
                print(f"  {i}/{len(questions)} questions [{time.perf_counter() - started:.0f} s]", file=sys.stderr)
        store.close()
    return rows


def support_signals(row: dict, p: np.ndarray, best: int) -> dict[str, float]:
    ev = row["evidence"]
    covw = FEATURES.index("covw")
    return {
        "covw_sentence": float(row["X"][best, covw]),
        "covw_passage": row["passage_cov"][row["ranks"][best]],
        "covw_top": row["passage_cov"][0],
        "corpus_share": ev.corpus_share,
        "dense_top": ev.dense_top,
        "dense_gap": ev.dense_top - ev.dense_second,
        "bm25_top": extractive.bm25_share(ev),
        "agree": 1.0 if ev.agree else 0.0,
        "sentence_logit": extractive.logit(float(p[best])),
    }


def choose(p: np.ndarray, below: float, ratio: float) -> list[int]:
    order = list(np.argsort(-p))
    chosen = order[:1]
    if len(order) > 1 and (p[order[0]] < below or p[order[1]] >= ratio * p[order[0]]):
        chosen.append(order[1])
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--questions", required=True)
    parser.add_argument("--cache", help="embedding cache folder (as kbqa eval --cache)")
    parser.add_argument("--leave-out", type=float, default=0.5)
    parser.add_argument("--max-chars", type=float, default=187, help="mean answer length allowed (half of today's)")
    parser.add_argument("--found", type=float, default=0.95, help="found_ok the threshold must keep on tuning data")
    parser.add_argument("--write", action="store_true", help="rewrite qa/answer/weights.py")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    rows = [r for r in collect(args) if len(r["y"])]
    tune = [r for r in rows if tuning(r["doc_id"])]
    test = [r for r in rows if not tuning(r["doc_id"])]
    train = [r for r in tune if r["answerable"]]
    sentence = LogisticRegression(C=1.0, max_iter=5000).fit(
        np.vstack([r["X"] for r in train]), np.concatenate([r["y"] for r in train])
    )
    for r in rows:
        r["p"] = sentence.predict_proba(r["X"])[:, 1]

    def answers(part: list[dict], below: float, ratio: float) -> tuple[float, float]:
        ok = length = 0.0
        for r in part:
            chosen = choose(r["p"], below, ratio)
            ok += bool(r["y"][chosen].any())
            length += float(r["len"][chosen].sum()) - 1
        return ok / len(part), length / len(part)

    grid = [(b, t) for b in (0.0, 0.1, 0.2, 0.3, 0.4) for t in (0.5, 0.6, 0.7, 0.8, 0.9, 1.01)]
    fits = [(answers(train, b, t), b, t) for b, t in grid]
    (_, below, ratio) = max((f for f in fits if f[0][1] <= args.max_chars), key=lambda f: f[0][0])

    for r in rows:
        best = int(np.argmax(r["p"]))
        r["signals"] = support_signals(r, r["p"], best)
    support = LogisticRegression(C=1.0, max_iter=5000).fit(
        [[r["signals"][k] for k in SUPPORT] for r in tune], [r["answerable"] for r in tune]
    )
    for r in rows:
        r["s"] = float(support.predict_proba([[r["signals"][k] for k in SUPPORT]])[0, 1])

    def abstention(part: list[dict], threshold: float) -> tuple[float, float]:
        yes = [r for r in part if r["answerable"]]
        no = [r for r in part if not r["answerable"]]
        found = sum(r["s"] >= threshold for r in yes) / max(1, len(yes))
        abstain = sum(r["s"] < threshold for r in no) / max(1, len(no))
        return found, abstain

    thresholds = [t / 100 for t in range(1, 100)]
    threshold = max(t for t in thresholds if abstention(tune, t)[0] >= args.found)
    # A quote that almost surely does not hold the answer is no answer, however well retrieval went (a teaser
    # whose snippet cannot be quoted left only unrelated sentences): the highest floor costing <= 1 point found_ok.
    yes = [r for r in tune if r["answerable"]]
    floor = max(
        f / 1000 for f in range(0, 101, 5) if sum(float(r["p"].max()) < f / 1000 for r in yes) <= 0.01 * len(yes)
    )
    for r in rows:
        if float(r["p"].max()) < floor:
            r["s"] = min(r["s"], float(r["p"].max()))

    print(f"second sentence when best p < {below} or p2 >= {ratio} x p1; support threshold {threshold}; floor {floor}")
    print("part      questions  answer_ok(found only)  answer_ok(with abstention)  chars  found_ok  abstain_ok")
    for name, part in (("tuning", tune), ("held-out", test)):
        yes = [r for r in part if r["answerable"]]
        ok, chars = answers(yes, below, ratio)
        kept = sum(bool(r["y"][choose(r["p"], below, ratio)].any()) for r in yes if r["s"] >= threshold)
        found, abstain = abstention(part, threshold)
        print(
            f"{name:9} {len(part):9}  {ok:21.3f}  {kept / len(yes):26.3f}  {chars:5.0f}  {found:8.3f}  {abstain:10.3f}"
        )
    print("found_ok / abstain_ok on held-out at other thresholds:")
    for t in (0.2, 0.3, 0.4, 0.5, 0.6):
        print(f"  {t}: {abstention(test, t)[0]:.3f} / {abstention(test, t)[1]:.3f}")
    if args.write:
        write(sentence, support, threshold, floor, below, ratio, args)


def write(
    sentence, support, threshold: float, floor: float, below: float, ratio: float, args: argparse.Namespace
) -> None:
    lines = [
        '"""Fitted weights of the sentence scorer and the support score (written by bench/fit_answers.py)."""',
        "",
        "# Written by: python bench/fit_answers.py --corpus CORPUS --questions QUESTIONS \\",
        f"#     --leave-out {args.leave_out} --max-chars {args.max_chars:g} --found {args.found:g} --write",
        "# on UIT-ViNewsQA dev (bench/RESULTS.md, issue 10); tuning half of the articles only.",
        "SENTENCE = {",
        *(f'    "{k}": {w:.4f},' for k, w in zip(FEATURES, sentence.coef_[0], strict=True)),
        "}",
        f"SENTENCE_BIAS = {sentence.intercept_[0]:.4f}",
        "SUPPORT = {",
        *(f'    "{k}": {w:.4f},' for k, w in zip(SUPPORT, support.coef_[0], strict=True)),
        "}",
        f"SUPPORT_BIAS = {support.intercept_[0]:.4f}",
        f"SUPPORT_THRESHOLD = {threshold}  # keeps found_ok >= {args.found:g} on the tuning half",
        f"SENTENCE_FLOOR = {floor}  # best sentence below this probability: not found (costs <= 1 point found_ok)",
        f"SECOND_IF_BEST_BELOW = {below}  # a second sentence joins when the best one's probability is below this",
        f"SECOND_IF_RATIO = {ratio}  # … or when the second's probability is at least this share of the best one's",
        "",
    ]
    (ROOT / "qa" / "answer" / "weights.py").write_text("\n".join(lines), encoding="utf-8")
    print("wrote qa/answer/weights.py")


if __name__ == "__main__":
    main()
