"""Retrieval evaluation: index a JSONL corpus into a temporary store, ask every question, score the answers."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TextIO

import numpy as np

from kbqa.config import Settings
from kbqa.errors import InputError
from kbqa.index.embed.embedders import Embedder
from kbqa.index.store.api import StoreReader
from kbqa.qa.contracts import Retriever
from kbqa.qa.search import DenseRetriever, FixedKeywords, HybridRetriever, KeywordRetriever, KeywordSource


@dataclass(frozen=True)
class Question:
    """One evaluation question: the document holding its answer and the accepted answer strings."""

    qid: str
    question: str
    doc_id: str
    answers: list[str]


def _jsonl(path: str | Path, required: tuple[str, ...]) -> Iterator[dict]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc.__class__.__name__}") from None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise InputError(f"{path}:{n}: not a JSON object") from None
        missing = [k for k in required if not isinstance(row, dict) or k not in row]
        if missing:
            raise InputError(f"{path}:{n}: missing {', '.join(missing)}")
        yield row


def read_corpus(path: str | Path) -> list[dict]:
    """Corpus lines {"id","title","text"}; ids must be unique."""
    docs = list(_jsonl(path, ("id", "title", "text")))
    if not docs:
        raise InputError(f"{path}: no documents")
    seen: set[str] = set()
    for doc in docs:
        if str(doc["id"]) in seen:
            raise InputError(f"{path}: document id {doc['id']} appears twice")
        seen.add(str(doc["id"]))
    return docs


def read_questions(path: str | Path) -> list[Question]:
    """Question lines {"qid","question","doc_id","answers":[...]}."""
    out = [
        Question(str(q["qid"]), str(q["question"]), str(q["doc_id"]), [str(a) for a in q["answers"]])
        for q in _jsonl(path, ("qid", "question", "doc_id", "answers"))
    ]
    if not out:
        raise InputError(f"{path}: no questions")
    return out


@contextmanager
def corpus_store(
    docs: list[dict], settings: Settings, cache: str | Path | None = None, store_url: str | None = None
) -> Iterator[tuple[Settings, dict[str, str]]]:
    """A temporary store holding `docs` (indexed as files, like `kbqa index` would) → (settings, store doc_id →
    corpus id): a folder, or with `store_url` (a postgresql:// server) a new database there, dropped afterwards.
    Vectors come from and go to the shared embedding cache (`cache` if given, else the `cache` setting's), so
    re-runs embed nothing."""
    from kbqa.index.build import build_index
    from kbqa.index.store.api import open_store, temporary_database

    work = Path(tempfile.mkdtemp(prefix="kbqa-eval-"))
    try:
        with temporary_database(store_url) if store_url else nullcontext(str(work / "store")) as store:
            files = work / "docs"
            files.mkdir()
            names: dict[str, str] = {}
            for n, doc in enumerate(docs):
                name = f"{n:06d}.txt"
                (files / name).write_text(f"{doc['title']}\n{doc['text']}\n", encoding="utf-8")
                names[name] = str(doc["id"])
            settings = replace(settings, store=store, cache=str(cache) if cache else settings.cache)
            build_index([files], settings, show_progress=None)
            index = open_store(store, vectors=False)
            try:
                ids = {d.doc_id: names[Path(d.source).name] for d in index.documents()}
            finally:
                index.close()
            yield settings, ids
    finally:
        shutil.rmtree(work, ignore_errors=True)


MODES = ("hybrid", "dense", "keyword")


def retriever_for(mode: str, store: StoreReader, embedder: Embedder, keywords: KeywordSource) -> Retriever:
    """The retriever `kbqa eval --retriever MODE` measures: hybrid, dense only or keyword only."""
    if mode == "dense":
        return DenseRetriever(store, embedder)
    if mode == "keyword":
        return KeywordRetriever(store, keywords)
    return HybridRetriever(store, embedder, keywords)


DEPTH = 10  # passages ranked per question (MRR@10)


@dataclass(frozen=True)
class Report:
    """Retrieval, answer and abstention quality over a question set, and per-question latency (retrieve + answer).

    Retrieval and answer figures count the answerable questions (their article is indexed); with part of the
    corpus left out, `abstain_ok` is the share of the other questions answered "not found"."""

    mode: str
    questions: int
    hit_at_1: float
    hit_at_5: float
    mrr_at_10: float
    cited_answer: float  # share of answerable questions whose cited passages contain a gold answer string
    answer_ok: float  # share of answerable questions whose answer text itself contains a gold answer string
    answer_chars: float  # mean length of the answers given (found ones), in characters
    found_ok: float  # share of answerable questions that get an answer (not "not found")
    abstain_ok: float | None  # share of unanswerable questions (article left out) that get "not found"
    unanswerable: int
    p50_ms: float
    p95_ms: float

    def to_json(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}

    def table(self) -> str:
        abstain = (
            f"  abstain_ok {self.abstain_ok:.3f} ({self.unanswerable} unanswerable)"
            if self.abstain_ok is not None
            else ""
        )
        return (
            f"{self.mode}: {self.questions} questions  Hit@1 {self.hit_at_1:.3f}  Hit@5 {self.hit_at_5:.3f}  "
            f"MRR@10 {self.mrr_at_10:.3f}  cited answer {self.cited_answer:.3f}  answer_ok {self.answer_ok:.3f}  "
            f"answer length {self.answer_chars:.0f} chars  found_ok {self.found_ok:.3f}{abstain}  "
            f"latency p50 {self.p50_ms:.0f} ms  p95 {self.p95_ms:.0f} ms"
        )


def left_out(doc_id: str, fraction: float) -> bool:
    """Whether `kbqa eval --leave-out FRACTION` leaves this corpus document out of the index: a fixed pseudo-random
    choice by the id's hash, so runs and machines agree on which."""
    return int(hashlib.sha256(doc_id.encode("utf-8")).hexdigest()[:8], 16) / 2**32 < fraction


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


def contains_answer(passages: list, answers: list[str]) -> bool:
    """True when one of the passages holds one of the answer strings (case and spacing ignored)."""
    texts = [_norm(p.passage) for p in passages]
    return any(_norm(a) in t for a in answers if a.strip() for t in texts)


def first_gold_rank(doc_ids: list[str], gold: str) -> int | None:
    """1-based rank of the first passage from the gold document, or None."""
    return next((i for i, d in enumerate(doc_ids, start=1) if d == gold), None)


def evaluate(
    settings: Settings,
    questions: list[Question],
    ids: dict[str, str],
    mode: str = "hybrid",
    details: TextIO | None = None,
) -> Report:
    """Ask every question against the store in `settings` (`ids`: store doc_id → corpus id) and score it;
    questions whose document is not in the store count as unanswerable. `details` gets one JSON line per
    question (its answer, support, and what was right)."""
    from kbqa.index.embed.embedders import get_embedder
    from kbqa.index.keyword import for_store
    from kbqa.index.store.api import open_store
    from kbqa.qa.answer import ExtractiveAnswerer

    if mode not in MODES:
        raise InputError(f"unknown retriever '{mode}' (use one of {', '.join(MODES)})")
    indexed = set(ids.values())
    store = open_store(settings.store, pool_size=settings.pg_pool, settings=settings)
    try:
        embedder = get_embedder(settings)
        retriever = retriever_for(mode, store, embedder, FixedKeywords(for_store(store)))
        answerer = ExtractiveAnswerer(embedder)
        hits1 = hits5 = mrr = cited = answer_ok = found = abstained = 0.0
        lengths: list[int] = []
        latency = []
        for q in questions:
            started = time.perf_counter()
            retrieval = retriever.retrieve(q.question, DEPTH)
            passages = retrieval.passages
            answer = answerer.answer(q.question, retrieval.top(settings.k))
            latency.append(time.perf_counter() - started)
            answerable = q.doc_id in indexed
            ok = answer.found and any(_norm(a) in _norm(answer.answer) for a in q.answers if a.strip())
            if answer.found:
                lengths.append(len(answer.answer))
            rank = first_gold_rank([ids.get(p.doc_id, p.doc_id) for p in passages], q.doc_id)
            if answerable:
                if rank is not None:
                    hits1 += rank == 1
                    hits5 += rank <= 5
                    mrr += 1.0 / rank
                cited += contains_answer([c.passage for c in answer.citations], q.answers)
                answer_ok += ok
                found += answer.found
            else:
                abstained += not answer.found
            if details is not None:
                row = {
                    "qid": q.qid,
                    "question": q.question,
                    "answerable": answerable,
                    "found": answer.found,
                    "support": round(answer.support, 4),
                    "answer": answer.answer,
                    "answer_ok": ok,
                    "gold": q.answers,
                    "gold_rank": rank,
                    "cited": [ids.get(c.passage.doc_id, c.passage.doc_id) for c in answer.citations],
                }
                details.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        store.close()
    n = sum(1 for q in questions if q.doc_id in indexed) or 1
    unanswerable = len(questions) - sum(1 for q in questions if q.doc_id in indexed)
    p50, p95 = np.percentile(np.array(latency) * 1000, [50, 95])
    return Report(
        mode,
        len(questions),
        hits1 / n,
        hits5 / n,
        mrr / n,
        cited / n,
        answer_ok / n,
        float(np.mean(lengths)) if lengths else 0.0,
        found / n,
        abstained / unanswerable if unanswerable else None,
        unanswerable,
        float(p50),
        float(p95),
    )


def run_eval(
    corpus: str | Path,
    questions: str | Path,
    settings: Settings,
    cache: str | Path | None,
    mode: str = "hybrid",
    leave_out: float = 0.0,
    details: str | Path | None = None,
    store_url: str | None = None,
) -> Report:
    """`kbqa eval`: index `corpus` (less the `leave_out` fraction of its documents) into a temporary store (a
    folder, or a new database on the PostgreSQL server `store_url`) and evaluate `questions` on it."""
    if not 0.0 <= leave_out < 1.0:
        raise InputError("--leave-out must be a fraction from 0 to below 1")
    docs = read_corpus(corpus)
    asked = read_questions(questions)
    known = {str(d["id"]) for d in docs}
    unknown = sorted({q.doc_id for q in asked} - known)
    if unknown:
        raise InputError(f"{questions}: doc_id {unknown[0]} is not in {corpus} ({len(unknown)} unknown)")
    kept = [d for d in docs if not left_out(str(d["id"]), leave_out)]
    if not kept:
        raise InputError(f"--leave-out {leave_out} leaves no document of {corpus} to index")
    with corpus_store(kept, settings, cache, store_url) as (store_settings, ids):
        if details is None:
            return evaluate(store_settings, asked, ids, mode)
        with open(details, "w", encoding="utf-8") as out:
            return evaluate(store_settings, asked, ids, mode, out)
