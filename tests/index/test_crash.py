"""Crash safety: `kbqa index` killed with SIGKILL at random points, 20 times; concurrent `kbqa add`s. On both
store engines (tests/engines.py); PostgreSQL's rounds are fewer (PG_ROUNDS): its killed writer's transaction
is rolled back by the server, the part that needs many random kill points is the embedded engine's files."""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kbqa.config import Settings
from kbqa.index.build import build_index, indexed_hash, load_documents
from kbqa.index.chunking import chunk_document, embedding_text
from kbqa.index.embed.cache import EmbeddingCache, cache_path
from kbqa.index.records import text_hash
from kbqa.index.store.api import open_store
from kbqa.qa.chain import Assistant
from tests.engines import vector_count

pytest_plugins = ["tests.engines"]  # store_location: a folder, then a PostgreSQL database

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 20
PG_ROUNDS = 6  # about 2.5 s a round: the doubled test stays cheap
PER_ROUND = 10
NEWS_VI = Path(__file__).resolve().parents[3] / "shared" / "data" / "news_vi" / "articles.jsonl"
CHARS = 450  # articles are cut to about one chunk each, so a round embeds ~10 chunks: the test stays cheap


def news_articles(n: int, chars: int = 0) -> list[dict]:
    """The first `n` news_vi articles (skips the test when the data set is absent); text cut to `chars` if > 0."""
    if not NEWS_VI.is_file():
        pytest.skip(f"news_vi data set not found at {NEWS_VI} (it cannot be copied into the repo)")
    out = []
    with NEWS_VI.open(encoding="utf-8") as lines:
        for line, _ in zip(lines, range(n), strict=False):
            article = json.loads(line)
            if chars:
                article["text"] = article["text"][:chars].rsplit(" ", 1)[0] + "."
            out.append(article)
    return out


def write_article(folder: Path, article: dict) -> Path:
    """An article as a .txt file: title line, blank line, text."""
    path = folder / f"{article['id']}.txt"
    path.write_text(f"{article['title']}\n\n{article['text']}\n", encoding="utf-8")
    return path


def kbqa(*args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kbqa.cli", *args],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for_output(proc: subprocess.Popen, marker: str, timeout: float = 60) -> None:
    """Read the process's stderr until `marker` shows (the progress line: embedding has started)."""
    seen, deadline = b"", time.monotonic() + timeout
    while marker.encode() not in seen and time.monotonic() < deadline and proc.poll() is None:
        if select.select([proc.stderr], [], [], 0.1)[0]:
            seen += os.read(proc.stderr.fileno(), 4096)


def needed_hashes(folder: Path, settings: Settings) -> set[str]:
    """The hashes of every chunk text the folder's documents need embedded."""
    docs = load_documents([folder]).docs
    return {
        text_hash(embedding_text(d, c))
        for d, _ in docs
        for c in chunk_document(d, settings.chunk_chars, settings.chunk_overlap)
    }


@pytest.mark.slow
def test_sigkilled_builds_keep_a_working_index_and_their_embeddings(tmp_path: Path, store_location: str, engine: str):
    rounds = ROUNDS if engine == "embedded" else PG_ROUNDS
    articles = news_articles(PER_ROUND * (rounds + 1), chars=CHARS)
    docs = tmp_path / "docs"
    docs.mkdir()
    # an embedding cache of the test's own: the other engine's run must not have embedded these articles already
    settings = Settings(store=store_location, cache=str(tmp_path / "kbqa-cache"))
    for article in articles[:PER_ROUND]:
        write_article(docs, article)
    build_index([docs], settings)
    assistant = Assistant(settings)  # one long-running reader across every round
    cache = EmbeddingCache(cache_path(settings.cache), assistant.embedder.id, assistant.embedder.dim)  # the shared one
    rng = random.Random(4)
    outcomes = {"killed": 0, "finished before the kill": 0}
    kept_by_killed_runs = reembedded = 0
    for round_ in range(1, rounds + 1):
        for article in articles[round_ * PER_ROUND : (round_ + 1) * PER_ROUND]:
            write_article(docs, article)
        if round_ % 5 == 0:  # a changed file and a deleted file now and then
            write_article(docs, {**articles[round_], "text": articles[round_]["text"] + " Cập nhật lần " + str(round_)})
            (docs / f"{articles[round_ - 1]['id']}.txt").unlink()
        needed = needed_hashes(docs, settings)
        cached_at_start = set(cache.get(sorted(needed)))
        proc = kbqa(
            "index", str(docs), "--store", settings.store, "--progress", KBQA_EMBED_BATCH="1", KBQA_CACHE=settings.cache
        )
        wait_for_output(proc, "embedding")  # then kill anywhere in embedding, committing, or after
        time.sleep(rng.uniform(0.0, 2.0))
        outcomes["killed" if proc.poll() is None else "finished before the kill"] += 1
        proc.send_signal(signal.SIGKILL)
        proc.wait()

        store = open_store(settings.store)  # loads: never half-written
        listed = store.documents()
        assert len({d.doc_id for d in listed}) == len(listed) == store.manifest.documents
        assert vector_count(store) == store.manifest.chunks == sum(d.chunks for d in listed)
        answer = assistant.ask(listed[-1].title)  # the running reader picks up whatever was committed
        assert answer.citations and {c.passage.doc_id for c in answer.citations} <= {d.doc_id for d in listed}

        committed = store.document_hashes()
        cached = set(cache.get(sorted(needed)))
        kept_by_killed_runs += len(cached - cached_at_start)
        produced = load_documents([docs]).docs
        report = build_index([docs], settings)
        assert report.embedded == len(needed - cached)  # nothing already embedded is embedded again
        assert report.unchanged == sum(committed.get(d.doc_id) == indexed_hash(d, settings) for d, _ in produced)
        reembedded += report.embedded - len(needed - cached)
        final = open_store(settings.store)
        assert final.manifest.documents == len(produced) == len(list(docs.iterdir()))
        assert vector_count(final) == final.manifest.chunks

    cache.close()
    print(
        f"\n{rounds} SIGKILL rounds ({engine}): {outcomes}; {kept_by_killed_runs} chunk vectors embedded by killed "
        f"runs were reused, {reembedded} re-embedded; final index {final.manifest.documents} documents"
    )
    assert final.manifest.documents >= PER_ROUND * rounds  # 200 documents after 20 rounds


@pytest.mark.slow
def test_two_concurrent_adds_both_land(tmp_path: Path, store_location: str):
    a, b = news_articles(2, chars=CHARS)
    settings = Settings(store=store_location)
    paths = [write_article(tmp_path, a), write_article(tmp_path, b)]
    procs = [kbqa("add", str(p), "--store", settings.store, "--no-progress") for p in paths]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    titles = {d.title for d in open_store(settings.store).documents()}
    assert titles == {a["title"], b["title"]}
