"""Generative (LLM) answers against the extractive answerer, side by side on the same retrieved passages.

For N ViNewsQA dev questions (a fixed sample: the first N by SHA-1 of their ids; the prompt was tuned on other
questions) and the English questions: answer_ok (the answer holds a gold string), gold recall (share of the
best gold string's words in the answer), cited-gold (a cited passage holds a gold string), found, the share of
citations and sentences verified, answers where kbqa moved a citation to the passage that supports its
sentence, the share of English questions answered in English, time to first token and
total time (search included). Writes one JSON line per question and answerer with --details.

    python bench/bench_llm.py --corpus /tmp/vinewsqa/corpus.jsonl --questions /tmp/vinewsqa/questions.jsonl \
        --english bench/english_questions.jsonl --gguf ~/.cache/kbqa-ci/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf \
        --cache /tmp/kbqa10/cache --n 100 --details /tmp/bench_llm.jsonl

--resume keeps the rows of an earlier --details file cut short and answers only the rest.

--gguf starts llama-cpp-python's OpenAI-compatible server on 127.0.0.1 (all cores) and asks it through
`openai:local`; --llm/--llm-base-url asks any other model instead.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.request
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engines import cpu_flags  # noqa: E402

from kbqa.config import Settings  # noqa: E402
from kbqa.qa.answer.records import language  # noqa: E402
from kbqa.qa.eval import corpus_store, read_corpus, read_questions  # noqa: E402
from kbqa.text.language import language_of  # noqa: E402


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


def sample(questions: list, n: int) -> list:
    """The first `n` questions by SHA-1 of their ids: fixed, and spread over the articles."""
    return sorted(questions, key=lambda q: hashlib.sha1(q.qid.encode()).hexdigest())[:n]


def in_language(answer: str, question: str) -> bool:
    """The answer is in the question's language, or in neither (a number, a name: "2,6 kg [5]")."""
    return language_of(answer, default=None) in (None, language(question))


def gold_recall(answer: str, golds: list[str]) -> float:
    """The largest share of one gold string's words found in the answer."""
    words = set(_norm(answer).replace(",", " ").replace(".", " ").split())
    best = 0.0
    for gold in golds:
        g = _norm(gold).replace(",", " ").replace(".", " ").split()
        if g:
            best = max(best, sum(w in words for w in g) / len(g))
    return best


@contextmanager
def llama_server(gguf: str, threads: int):
    """llama_cpp.server on a free port of 127.0.0.1 serving `gguf` as "local"; yields its /v1 URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)  # noqa: SIM115 (kept)
    command = [sys.executable, "-m", "llama_cpp.server", "--model", gguf, "--model_alias", "local"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", str(threads)]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(240):
            if proc.poll() is not None:
                raise SystemExit(f"llama_cpp.server exited: see {log.name}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run(args: argparse.Namespace, llm: str, base_url: str) -> None:
    from kbqa.qa.chain import Assistant, Delta
    from kbqa.qa.llm import GenerativeAnswerer, chat_model

    vi = sample(read_questions(args.questions), args.skip + args.n)[args.skip :]
    en = read_questions(args.english) if args.english else []
    docs = read_corpus(args.corpus)
    with corpus_store(docs, Settings(), args.cache) as (settings, ids):
        assistant = Assistant(replace(settings, k=args.k))
        extractive = assistant.answerer
        generative = GenerativeAnswerer(chat_model(llm, base_url), assistant.embedder, fallback=extractive)
        rows: list[dict] = []
        if args.resume and args.details and Path(args.details).exists():
            # a run cut short (a restart) goes on where it stopped, on the same sample and server settings
            rows = [json.loads(line) for line in Path(args.details).read_text(encoding="utf-8").splitlines()]
        done = {(r["lang"], r["qid"], r["answerer"]) for r in rows}
        mode = "a" if args.resume else "w"
        details = open(args.details, mode, encoding="utf-8") if args.details else None  # noqa: SIM115
        for lang, questions in (("vi", vi), ("en", en)):
            for q in questions:
                for name, answerer in (("extractive", extractive), ("llm", generative)):
                    if (lang, q.qid, name) in done:
                        continue
                    assistant.answerer = answerer
                    start = time.perf_counter()
                    first = None
                    answer = None
                    for event in assistant.stream(q.question):
                        if isinstance(event, Delta) and event.text and first is None:
                            first = time.perf_counter() - start
                        answer = event
                    total = time.perf_counter() - start
                    text = answer.answer if answer.found else ""
                    row = {
                        "qid": q.qid,
                        "lang": lang,
                        "answerer": name,
                        "question": q.question,
                        "found": answer.found,
                        "answer": answer.answer,
                        "answer_ok": answer.found and any(_norm(g) in _norm(text) for g in q.answers if g.strip()),
                        "gold_recall": gold_recall(text, q.answers) if answer.found else 0.0,
                        "cited_gold": any(
                            any(_norm(g) in _norm(c.passage.passage) for g in q.answers) for c in answer.citations
                        ),
                        "in_question_language": answer.found and in_language(text, q.question),
                        "citations": len(answer.citations),
                        "citations_verified": sum(bool(c.verified) for c in answer.citations),
                        "claims": len(answer.claims),
                        "claims_verified": sum(bool(c.verified) for c in answer.claims),
                        "fallback": "could not be reached" in answer.note,
                        "moved": "moved to the passage" in answer.note,
                        "note": answer.note,
                        "ttft": first if first is not None else total,
                        "total": total,
                        "gold": q.answers,
                        "gold_doc": q.doc_id,
                        "cited_docs": [ids.get(c.passage.doc_id, c.passage.doc_id) for c in answer.citations],
                    }
                    rows.append(row)
                    if details:
                        details.write(json.dumps(row, ensure_ascii=False) + "\n")
                        details.flush()
                    if args.verbose:
                        print(f"{lang} {name:10s} ok={row['answer_ok']!s:5} {total:5.1f}s {text[:100]!r}", flush=True)
        if details:
            details.close()
    report(rows, llm)


def report(rows: list[dict], llm: str) -> None:
    """The side-by-side table (Markdown)."""
    print(f"\ncpu: {cpu_flags()}\nload average at the end: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print(f"llm: {llm}\n")
    print(
        "| set | answerer | n | answer_ok | gold recall | cited gold | found | in question's language | citations "
        "verified | sentences verified | citation moved | fallbacks | first token p50/p95 s | total p50/p95 s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for lang in ("vi", "en"):
        for name in ("extractive", "llm"):
            sel = [r for r in rows if r["lang"] == lang and r["answerer"] == name]
            if not sel:
                continue
            found = [r for r in sel if r["found"]]
            cit = sum(r["citations"] for r in sel)
            cl = sum(r["claims"] for r in sel)
            ttft = np.percentile([r["ttft"] for r in sel], [50, 95])
            total = np.percentile([r["total"] for r in sel], [50, 95])
            verified = f"{sum(r['citations_verified'] for r in sel) / cit:.3f}" if name == "llm" and cit else "(quotes)"
            claims = f"{sum(r['claims_verified'] for r in sel) / cl:.3f}" if name == "llm" and cl else "(quotes)"
            print(
                f"| {lang} | {name} | {len(sel)} | {np.mean([r['answer_ok'] for r in sel]):.3f} | "
                f"{np.mean([r['gold_recall'] for r in sel]):.3f} | {np.mean([r['cited_gold'] for r in sel]):.3f} | "
                f"{len(found) / len(sel):.3f} | {sum(r['in_question_language'] for r in sel) / len(sel):.3f} | "
                f"{verified} | {claims} | {sum(r.get('moved', False) for r in sel)} | "
                f"{sum(r['fallback'] for r in sel)} | "
                f"{ttft[0]:.2f}/{ttft[1]:.2f} | {total[0]:.2f}/{total[1]:.2f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--questions", required=True)
    parser.add_argument("--english", default="")
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--skip", type=int, default=0, help="leave out the sample's first questions (to tune on)")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--cache", default=None)
    parser.add_argument("--gguf", default="", help="start llama_cpp.server with this model")
    parser.add_argument("--llm", default="openai:local")
    parser.add_argument("--llm-base-url", default="")
    parser.add_argument("--details", default="")
    parser.add_argument("--resume", action="store_true", help="keep the rows already in --details, add the rest")
    parser.add_argument("--from-details", default="", help="only print the table of an earlier --details file")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    if args.from_details:
        rows = [json.loads(line) for line in Path(args.from_details).read_text(encoding="utf-8").splitlines()]
        report(rows, args.llm)
        return
    if args.gguf:
        with llama_server(os.path.expanduser(args.gguf), os.cpu_count() or 2) as url:
            run(args, "openai:local", url)
    else:
        run(args, args.llm, args.llm_base_url)


if __name__ == "__main__":
    main()
