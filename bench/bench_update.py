"""Seconds to add one article to, and remove it from, an index of >= 50k chunks (issue 4).

The base index (news_vi articles, cleaned and chunked for real; SYNTHETIC random unit vectors, so building it
needs no embedding) is built once under --workdir and reused. The added article is embedded for real.
Usage: python bench/bench_update.py --workdir /tmp/kbqa-bench [--chunks 50000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NEWS = ROOT.parent / "shared" / "data" / "news_vi" / "articles.jsonl"


def build_base(store: Path, embedder_id: str, dim: int, target: int) -> None:
    from kbqa.index.chunking import chunk_document
    from kbqa.index.clean import clean_document
    from kbqa.index.store.embedded import StoreWriter, read_manifest

    manifest = read_manifest(store) if (store / "CURRENT").exists() else None
    if manifest and manifest.chunks >= target:
        return
    rng = np.random.default_rng(0)
    total = 0
    with StoreWriter(store, embedder_id, dim, rebuild=True) as writer, NEWS.open(encoding="utf-8") as lines:
        for line in lines:
            article = json.loads(line)
            source = f"news_vi/{article['id']}.txt"
            for doc in clean_document(f"{article['title']}\n\n{article['text']}", source):
                chunks = chunk_document(doc, 700, 1)
                vectors = rng.standard_normal((len(chunks), dim)).astype(np.float32)
                writer.add(doc, chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True), path=source)
                total += len(chunks)
            if total >= target:
                break
        writer.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--chunks", type=int, default=50_000)
    args = parser.parse_args()
    from kbqa.config import Settings
    from kbqa.index.build import add_paths, remove_documents
    from kbqa.index.embed.embedders import get_embedder
    from kbqa.index.store.embedded import Store

    settings = Settings(store=str(args.workdir / "store"), cache=str(args.workdir / "cache"))
    embedder = get_embedder(settings)
    started = time.perf_counter()
    build_base(Path(settings.store), embedder.id, embedder.dim, args.chunks)
    base = Store(settings.store, vectors=False).manifest
    print(
        f"base index: {base.documents} documents, {base.chunks} chunks of news_vi; vectors SYNTHETIC random unit "
        f"vectors [{time.perf_counter() - started:.1f} s to build or open]"
    )
    with NEWS.open(encoding="utf-8") as lines:
        article = json.loads(lines.readlines()[-1])  # not in the base: the base takes articles from the start
    new = args.workdir / "new-article.txt"
    new.write_text(f"{article['title']}\n\n{article['text']}\n", encoding="utf-8")
    cache = Path(settings.cache) / "embeddings.sqlite"  # the bench's own cache (KBQA_CACHE under --workdir)
    cache.unlink(missing_ok=True)  # the article must be embedded for real each run
    reader = Store(settings.store)
    started = time.perf_counter()
    report = add_paths([new], settings, show_progress=False)
    add_s = time.perf_counter() - started
    print(f"add (in-process, model loaded): {add_s:.2f} s, {report.embedded} chunk(s) embedded for real")
    started = time.perf_counter()
    reader.refresh()
    print(f"reader refresh after add (incremental add_with_ids): {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    removed = remove_documents([str(new)], settings)
    print(f"remove (in-process): {time.perf_counter() - started:.2f} s ({len(removed.removed)} document(s))")
    started = time.perf_counter()
    reader.refresh()
    print(f"reader refresh after remove (incremental remove_ids): {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    add_paths([new], settings, show_progress=False)
    print(f"add again, vectors cached (clean + chunk + commit, no embedding): {time.perf_counter() - started:.2f} s")
    remove_documents([str(new)], settings)
    cache.unlink(missing_ok=True)
    for argv in (["add", str(new)], ["remove", str(new)]):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "kbqa.cli", *argv, "--store", settings.store], check=True, cwd=ROOT)
        print(f"`kbqa {argv[0]}` as a process (startup + model load included): {time.perf_counter() - started:.2f} s")
    print(f"index now: {Store(settings.store, vectors=False).manifest.chunks} chunks")


if __name__ == "__main__":
    main()
