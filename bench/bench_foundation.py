"""Index-build speed (chunks/s) and warm ask latency (median, p95) on seeds/ and on N news articles."""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kbqa.config import Settings  # noqa: E402
from kbqa.index.build import build_index  # noqa: E402
from kbqa.qa.chain import Assistant  # noqa: E402

SEED_QUESTIONS = [
    "Which technologies did Korea and the US agree on?",
    "Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?",
    "Khi nào Mỹ và Trung Quốc đàm phán về AI?",
    "Cần giữ ấm những bộ phận nào để tránh đột quỵ?",
]


def write_articles(path: Path, n: int, out: Path) -> list[str]:
    """The first n articles as .txt files (title line, blank line, text); returns their titles."""
    out.mkdir(parents=True, exist_ok=True)
    titles = []
    with path.open(encoding="utf-8") as lines:
        for i, line in enumerate(lines):
            if i >= n:
                break
            art = json.loads(line)
            (out / f"{art['id']}.txt").write_text(f"{art['title']}\n\n{art['text']}\n", encoding="utf-8")
            titles.append(art["title"])
    return titles


def measure(name: str, docs: str, questions: list[str], settings: Settings) -> dict:
    """Build from scratch (empty cache), then ask each question warm; returns the numbers."""
    shutil.rmtree(settings.store, ignore_errors=True)
    report = build_index([docs], settings, rebuild=True, show_progress=False)
    assistant = Assistant(settings)
    assistant.ask(questions[0])  # warm-up
    latencies = []
    for q in questions:
        started = time.perf_counter()
        assistant.ask(q)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return {
        "corpus": name,
        "documents": report.documents,
        "chunks": report.chunks,
        "build_s": round(report.seconds, 1),
        "chunks_per_s": round(report.chunks / report.seconds, 1),
        "asks": len(latencies),
        "ask_ms_median": round(statistics.median(latencies), 1),
        "ask_ms_p95": round(latencies[max(0, int(0.95 * len(latencies)) - 1)], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=Path, help="news_vi/articles.jsonl (read in place, never copied)")
    parser.add_argument("--n", type=int, default=200, help="how many articles to index")
    parser.add_argument("--questions", type=int, default=50, help="how many article-title questions to time")
    parser.add_argument("--embedder", default=Settings.embedder)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="kbqa-bench-") as tmp:
        os.chdir(ROOT)
        settings = Settings(store=str(Path(tmp) / "seeds-store"), embedder=args.embedder)
        rows.append(measure("seeds", "seeds", SEED_QUESTIONS * 5, settings))
        if args.articles:
            docs = Path(tmp) / "news"
            titles = write_articles(args.articles, args.n, docs)
            questions = random.Random(0).sample(titles, min(args.questions, len(titles)))
            settings = Settings(store=str(Path(tmp) / "news-store"), embedder=args.embedder)
            rows.append(measure(f"news_vi first {args.n}", str(docs), questions, settings))
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
