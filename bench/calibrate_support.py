"""Calibrate kbqa.qa.llm.verify's support rules on ViNewsQA dev: does a cited passage support a written sentence?

Pairs, from questions outside bench_llm's sample (which is the first 100 by SHA-1 of their ids): a written answer
sentence (the question with its question word replaced by the gold answer) against the passage holding the gold
answer (supported), against the best-ranked passage of another article (wrong passage), and the same sentence with
another question's gold answer against the gold passage (wrong fact); plus the passage's own gold sentence
(verbatim). With --gguf (or --llm-base-url), the fixture model also translates the supported and wrong-fact
sentences into English, and those are scored against the same passages: the cross-language rule.

The measurements of every pair (cosine, shared words, numbers held) are saved with --save, so the fit can be redone
from them (--from). The 0.5B fixture model translates poorly: a translation that drops a number or a name of the
sentence (compared without diacritics) or is not English is left out, as a sentence no faithful translation would
write; the count kept is printed. For each rule (same language, cross-language) the fit is a grid over floor, ceil,
weight and threshold, chosen on the even-numbered questions by balanced accuracy (the mean of the per-kind
accuracies) and reported on the odd-numbered ones, next to the rule in use.

    python bench/calibrate_support.py --corpus /tmp/vinewsqa/corpus.jsonl --questions /tmp/vinewsqa/questions.jsonl \\
        --cache /tmp/kbqa10/cache --n 300 --gguf ~/.cache/kbqa-ci/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf \\
        --save /tmp/calibration.jsonl
    python bench/calibrate_support.py --from /tmp/calibration.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import re
import sys
import unicodedata
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engines import cpu_flags  # noqa: E402

from kbqa.config import Settings  # noqa: E402
from kbqa.qa.eval import _norm, corpus_store, read_corpus, read_questions  # noqa: E402
from kbqa.qa.llm import verify  # noqa: E402
from kbqa.text.language import is_vietnamese  # noqa: E402
from kbqa.text.sentences import split_sentences  # noqa: E402

# Vietnamese question words, longest first: the answer goes where the question word was.
QWORDS = [
    "như thế nào",
    "thế nào",
    "ra sao",
    "bao nhiêu",
    "bao giờ",
    "khi nào",
    "vì sao",
    "tại sao",
    "là gì",
    "là ai",
    "gì",
    "nào",
    "ai",
    "đâu",
]
SKIP = 100  # bench_llm's sample
KINDS = ("supported", "verbatim", "wrong passage", "wrong fact")
POSITIVE = {"supported", "verbatim"}
TRANSLATE = "Translate the user's Vietnamese sentence into English. Reply with the English sentence only."


def written(question: str, answer: str) -> str | None:
    """The question as an answer sentence: its question word replaced by `answer`; None without a question word."""
    q = question.strip().rstrip("?").strip()
    for w in QWORDS:
        m = re.search(rf"(?<!\w){re.escape(w)}(?!\w)", q, flags=re.I)
        if m:
            return f"{q[: m.start()]}{answer}{q[m.end() :]}".strip() + "."
    return None


def _bare(words: set[str]) -> set[str]:
    """Words without diacritics (đ as d), lowercased: a name keeps its letters in translation, not its accents."""
    out = set()
    for w in words:
        w = unicodedata.normalize("NFD", w.lower().replace("đ", "d"))
        out.add("".join(c for c in w if not unicodedata.combining(c)))
    return out


def translator(llm: str, base_url: str):  # noqa: ANN201 - a str -> str | None function
    """A function translating one Vietnamese sentence into English with the chat model (None when it fails)."""
    from kbqa.qa.llm import chat_model

    model = chat_model(llm, base_url)

    def translate(sentence: str) -> str | None:
        try:
            text = str(model.invoke([("system", TRANSLATE), ("human", sentence)]).content)
        except Exception:  # noqa: BLE001 - a failed translation drops the pair, the run goes on
            return None
        text = " ".join(text.split()).strip("\"' ")
        if (
            not text
            or is_vietnamese(text)  # any Vietnamese letter: a name left untranslated counts as not English
            or not _bare(verify.content_words(sentence, True)) <= _bare(verify.content_words(text))
        ):
            return None  # not English, or a number or name lost: not a translation of the supported sentence
        return text

    return translate


def measure(args: argparse.Namespace, translate) -> list[dict]:  # noqa: ANN001
    """One row per (question, kind, language): the measurements verify's rules score."""
    from kbqa.qa.chain import Assistant

    questions = sorted(read_questions(args.questions), key=lambda q: hashlib.sha1(q.qid.encode()).hexdigest())
    questions = questions[SKIP : SKIP + args.n]
    rows: list[dict] = []
    with corpus_store(read_corpus(args.corpus), Settings(), args.cache) as (settings, ids):
        assistant = Assistant(settings)
        for i, q in enumerate(questions):
            gold = q.answers[0]
            other = questions[(i + 7) % len(questions)].answers[0]
            sentence, wrong = written(q.question, gold), written(q.question, other)
            if not sentence or _norm(other) in _norm(gold) or _norm(gold) in _norm(other):
                continue
            passages = assistant.retrieve(q.question, 10).passages
            holds = [p for p in passages if any(_norm(a) in _norm(p.passage) for a in q.answers)]
            others = [p for p in passages if ids.get(p.doc_id) != q.doc_id]
            if not holds or not others:
                continue
            p_gold, p_neg = holds[0].passage, others[0].passage
            verbatim = next((p_gold[a:b] for a, b in split_sentences(p_gold) if _norm(gold) in _norm(p_gold[a:b])), "")
            texts = {("vi", "s"): sentence, ("vi", "w"): wrong, ("vi", "v"): verbatim}
            if translate:
                texts[("en", "s")], texts[("en", "w")] = translate(sentence), translate(wrong)
            texts = {key: text for key, text in texts.items() if text}
            keys = list(texts)
            cos = verify._cosines(assistant.embedder, [texts[k] for k in keys], {1: p_gold, 2: p_neg})
            cases = [("supported", "s", 1), ("wrong passage", "s", 2), ("wrong fact", "w", 1), ("verbatim", "v", 1)]
            for kind, which, n in cases:
                for lang in ("vi", "en"):
                    if (lang, which) not in texts:
                        continue
                    text, passage = texts[(lang, which)], (p_gold if n == 1 else p_neg)
                    share, numbers_held, cross = verify.word_share(text, passage)
                    rows.append(
                        {
                            "q": i,
                            "kind": kind,
                            "lang": lang,
                            "cross": cross,
                            "share": share,
                            "numbers_held": numbers_held,
                            "cosine": cos.get((keys.index((lang, which)), n)),
                            "text": text,
                        }
                    )
            if args.verbose and (lang_en := texts.get(("en", "s"))):
                print(f"{i}: {sentence!r} -> {lang_en!r}", flush=True)
    return rows


def accuracy(rows: list[dict], rule: verify.SupportRule) -> dict[str, float]:
    """Per kind: the share of pairs the rule gets right (positives verified, negatives not)."""
    out = {}
    for kind in KINDS:
        sel = [r for r in rows if r["kind"] == kind]
        if sel:
            ok = [
                (verify.score(r["share"], r["numbers_held"], r["cosine"], rule) >= rule.threshold) == (kind in POSITIVE)
                for r in sel
            ]
            out[kind] = float(np.mean(ok))
    return out


def balanced(rows: list[dict], rule: verify.SupportRule) -> float:
    acc = accuracy(rows, rule)
    return float(np.mean(list(acc.values()))) if acc else float("nan")


def fit(rows: list[dict]) -> verify.SupportRule:
    """The grid rule with the best balanced accuracy on `rows`."""
    grid = itertools.product(
        np.round(np.arange(0.70, 0.92, 0.02), 2),  # floor
        (0.04, 0.08, 0.12, 0.16, 0.20),  # ceil - floor
        (0.0, 0.25, 0.5, 0.75, 1.0),  # weight
        np.round(np.arange(0.30, 0.96, 0.05), 2),  # threshold
    )
    rules = [verify.SupportRule(float(f), round(float(f + d), 2), w, float(t)) for f, d, w, t in grid]
    return max(rules, key=lambda rule: balanced(rows, rule))


def report(rows: list[dict]) -> None:
    print(f"cpu: {cpu_flags()}")
    print(f"{len(rows)} pairs from {len({r['q'] for r in rows})} questions")
    for lang in ("vi", "en"):
        n = len({r["q"] for r in rows if r["lang"] == lang and r["kind"] == "supported"})
        print(f"  {lang}: supported sentences for {n} questions")
    print("| pairs | rule (floor, ceil, weight, threshold) | half | " + " | ".join(KINDS) + " | balanced |")
    print("|---|---|---|---|---|---|---|---|")
    for name, cross, current in (("same language", False, verify.SAME), ("English → Vietnamese", True, verify.CROSS)):
        sel = [r for r in rows if r["cross"] == cross]
        if not sel:
            continue
        fitted = fit([r for r in sel if r["q"] % 2 == 0])
        for label, rule in (("in use", current), ("fitted", fitted)):
            for half, part in (("fit", 0), ("held out", 1)):
                part_rows = [r for r in sel if r["q"] % 2 == part]
                acc = accuracy(part_rows, rule)
                cells = " | ".join(f"{acc[k]:.3f}" if k in acc else "–" for k in KINDS)
                print(
                    f"| {name} | {label}: {rule.floor:.2f}, {rule.ceil:.2f}, {rule.weight:.2f}, {rule.threshold:.2f} "
                    f"| {half} | {cells} | {balanced(part_rows, rule):.3f} |"
                )
        for kind in KINDS:
            cos = [r["cosine"] for r in sel if r["kind"] == kind and r["cosine"] is not None]
            if cos:
                p = "/".join(f"{x:.3f}" for x in np.percentile(cos, [10, 50, 90]))
                print(f"  {name}, {kind}: n={len(cos)}, cosine p10/p50/p90 = {p}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus")
    parser.add_argument("--questions")
    parser.add_argument("--cache", default=None)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--gguf", default="", help="start llama_cpp.server with this model to translate")
    parser.add_argument("--llm", default="openai:local")
    parser.add_argument("--llm-base-url", default="")
    parser.add_argument("--save", default="", help="write the measured pairs here (JSON lines)")
    parser.add_argument("--from", dest="source", default="", help="fit and report from saved pairs")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    if args.source:
        rows = [json.loads(line) for line in Path(args.source).read_text(encoding="utf-8").splitlines()]
    else:
        if not (args.corpus and args.questions):
            parser.error("--corpus and --questions are needed (or --from)")
        if args.gguf:
            from bench_llm import llama_server

            with llama_server(os.path.expanduser(args.gguf), os.cpu_count() or 2) as url:
                rows = measure(args, translator(args.llm, url))
        else:
            rows = measure(args, translator(args.llm, args.llm_base_url) if args.llm_base_url else None)
        if args.save:
            Path(args.save).write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
            )
    report(rows)


if __name__ == "__main__":
    main()
