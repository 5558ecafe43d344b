"""Publication times: found in every format, stored in both engines, filtered on, searched within, listed."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from kbqa.index.clean import clean_document
from kbqa.index.dates import VIETNAM, published_time
from kbqa.index.formats import load_bytes
from kbqa.index.records import ChunkRecord, DocRecord
from kbqa.index.store import ann
from kbqa.index.store.api import open_store, open_writer
from kbqa.index.store.embedded import Store
from tests.engines import EMBEDDED_ONLY

pytest_plugins = ["tests.engines"]  # store_location: a folder, then a PostgreSQL database

DIM = 8
BODY = (
    "Giá vàng miếng trong nước tăng mạnh trong phiên sáng nay theo đà đi lên của thị trường thế giới. "
    "Các doanh nghiệp kinh doanh vàng lớn đồng loạt điều chỉnh giá mua vào và bán ra. "
    "Giới phân tích cho rằng nhu cầu trú ẩn an toàn đang gia tăng khi căng thẳng địa chính trị leo thang. "
)


def page(head: str = "", article: str = "") -> bytes:
    paragraphs = "".join(f"<p>{BODY} Đoạn {n}.</p>" for n in range(4))
    return (
        f"<!doctype html><html><head><title>Giá vàng tăng mạnh</title>{head}</head><body><article>"
        f"<h1>Giá vàng tăng mạnh</h1>{article}{paragraphs}</article></body></html>"
    ).encode()


def when(text: str, source: str = "a.txt", meta_date: str = "", title: str = "Tiêu đề") -> str | None:
    return published_time(meta_date=meta_date, text=f"{title}\n{text}", title=title, source=source)


# --- extraction


@pytest.mark.parametrize(
    ("head", "article", "expected"),
    [
        ('<meta property="article:published_time" content="2025-08-07T22:00:00+07:00">', "", "2025-08-07T22:00:00"),
        (
            '<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
            '"datePublished": "2025-08-07T15:00:00Z", "dateModified": "2025-08-09T10:00:00Z"}</script>',
            "",
            "2025-08-07T22:00:00",  # 15:00 UTC is 22:00 in Vietnam; the modification date is not the publication
        ),
        ("", '<time datetime="2025-08-06T08:30:00">6/8/2025</time>', "2025-08-06T08:30:00"),  # no zone: +07:00
    ],
)
def test_an_html_page_gives_its_markups_publication_time(head, article, expected):
    loaded = load_bytes(page(head, article), ".html", "gia-vang.html")
    assert loaded.published == f"{expected}+07:00"
    (record,) = clean_document(loaded.text, "gia-vang.html", date=loaded.date, published=loaded.published)
    assert record.published == loaded.published


def test_markdown_front_matter_gives_the_date():
    for front, expected in (
        ("date: 2025-08-07T22:00:00+07:00", "2025-08-07T22:00:00+07:00"),
        ("published: 2025-08-07", "2025-08-07T00:00:00+07:00"),  # a date alone: its midnight
        ("date: 09/12/2023 19:57", "2023-12-09T19:57:00+07:00"),  # day first
    ):
        loaded = load_bytes(f"---\ntitle: Giá vàng\n{front}\n---\n\n{BODY}".encode(), ".md", "a.md")
        (record,) = clean_document(loaded.text, "a.md", date=loaded.date)
        assert record.published == expected, front


@pytest.mark.parametrize(
    ("dateline", "expected"),
    [
        ("19:57 | 09/12/2023", "2023-12-09T19:57:00+07:00"),  # 9 December: day first
        ("Thứ tư, 6/8/2025, 00:00 (GMT+7)", "2025-08-06T00:00:00+07:00"),
        ("Chủ nhật, 10/8/2025, 14:05 (GMT+7)", "2025-08-10T14:05:00+07:00"),
        ("Hà Nội, ngày 25/4/2023, Bộ Tài chính đã họp về giá xăng.", "2023-04-25T00:00:00+07:00"),
    ],
)
def test_a_vietnamese_dateline_at_the_top_of_the_text(dateline, expected):
    (record,) = clean_document(f"Giá xăng giảm\n{dateline}\n{BODY}", "bai.txt")
    assert record.published == expected


def test_a_date_deep_in_the_text_or_in_the_title_is_not_the_publication_time():
    assert when(f"{BODY * 3}\nHà Nội, ngày 25/4/2023, Bộ đã họp.") is None
    assert when(BODY, title="Giá xăng ngày 12/5/2025") is None  # what the article is about


def test_a_url_or_file_name_gives_the_date():
    assert when(BODY, "https://tuoitre.vn/gia-vang-20250912212239608.htm") == "2025-09-12T21:22:39+07:00"
    assert when(BODY, "https://vnexpress.net/2025/09/12/gia-vang.html") == "2025-09-12T00:00:00+07:00"
    assert when(BODY, "tin/2025-09-12-gia-vang.md") == "2025-09-12T00:00:00+07:00"


def test_a_date_alone_takes_the_time_of_a_dateline_of_the_same_day():
    assert when("22:15 | 07/08/2025", meta_date="2025-08-07") == "2025-08-07T22:15:00+07:00"
    assert when("22:15 | 08/08/2025", meta_date="2025-08-07") == "2025-08-07T00:00:00+07:00"


def test_undated_implausible_and_unreadable_dates_are_unknown():
    assert when(BODY) is None
    (record,) = clean_document(f"Giá xăng giảm\n{BODY}", "bai.txt")
    assert record.published is None  # never the file's time
    future = (datetime.now(VIETNAM) + timedelta(days=30)).strftime("%Y-%m-%d")
    for meta in (future, "1975-04-30", "not a date", "2025"):
        assert when(BODY, meta_date=meta) is None, meta


def test_the_hash_changes_only_when_a_publication_time_is_set():
    base = DocRecord("a", "a.txt", "T", "text", author="X")
    assert base.hash == DocRecord("a", "a.txt", "T", "text", author="X", published=None).hash
    assert base.hash != DocRecord("a", "a.txt", "T", "text", author="X", published="2025-08-07T00:00:00+07:00").hash
    plain = DocRecord("b", "b.txt", "T", "text")
    assert plain.hash != DocRecord("b", "b.txt", "T", "text", published="2025-08-07T00:00:00+07:00").hash


# --- the stores

TIMES = {
    "aug1": "2025-08-01T08:00:00+07:00",
    "aug5": "2025-08-05T23:30:00+07:00",
    "aug9": "2025-08-09T06:15:00+07:00",
    "none": None,
}


def unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def write_dated(location: str, per_doc: int = 3, times: dict[str, str | None] = TIMES) -> None:
    rng = np.random.default_rng(7)
    with open_writer(location, "test", DIM) as writer:
        for name, published in times.items():
            record = DocRecord(name, f"{name}.txt", f"Title {name}", f"text of {name}", date="x", published=published)
            chunks = [ChunkRecord(name, i, 0, 4, f"{name} chunk {i}") for i in range(per_doc)]
            writer.add(record, chunks, unit(rng, per_doc))
        writer.commit()


def doc_of(store, ids) -> set[str]:  # noqa: ANN001 - a reader of either engine
    return {p.doc_id for p in store.passages([int(i) for i in ids]).values()}


def test_the_publication_time_round_trips_through_the_store(store_location):
    write_dated(store_location)
    store = open_store(store_location)
    listed = {d.doc_id: d.published for d in store.documents()}
    assert listed == TIMES
    assert {d.doc_id: d.to_json()["published"] for d in store.documents()} == TIMES
    passages = store.passages(list(range(12)))
    assert {p.doc_id: p.published for p in passages.values()} == TIMES
    assert all(p.to_json()["published"] == TIMES[p.doc_id] for p in passages.values())
    records = {r.doc.doc_id: r.doc.published for r in store.document_records()}  # what a migration copies
    assert records == TIMES
    assert store.published_range() == (TIMES["aug1"], TIMES["aug9"])


def test_chunks_published_filters_by_the_documents_time(store_location):
    write_dated(store_location)
    store = open_store(store_location)
    within = store.chunks_published("2025-08-02T00:00:00+07:00", "2025-08-09T00:00:00+07:00")
    assert within.dtype == np.int64 and list(within) == sorted(within) and len(within) == 3
    assert doc_of(store, within) == {"aug5"}
    assert doc_of(store, store.chunks_published("2025-08-05T23:30:00+07:00", None)) == {"aug5", "aug9"}  # inclusive
    assert doc_of(store, store.chunks_published(None, "2025-08-05T16:30:00Z")) == {"aug1", "aug5"}  # same instant
    assert doc_of(store, store.chunks_published("2025-08-05", "2025-08-05")) == set()  # a date alone: its midnight
    assert len(store.chunks_published(None, None)) == 12  # no bound: every live chunk, undated ones too
    assert len(store.chunks_published("2026-01-01", None)) == 0


def test_search_within_returns_only_those_chunks_and_k_of_them(store_location, engine, monkeypatch):
    write_dated(store_location, per_doc=6)
    store = open_store(store_location)
    query = unit(np.random.default_rng(1), 1)[0]
    unrestricted = store.search(query, 5)
    within = store.chunks_published("2025-08-05T00:00:00+07:00", None)
    hits = store.search(query, 5, within=within)
    assert len(hits) == 5 and {h.chunk_id for h in hits} <= set(within.tolist())
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert store.search(query, 5) == unrestricted  # without `within`: as before
    everything = store.search(query, 24, within=np.arange(24))
    assert [h.chunk_id for h in everything] == [h.chunk_id for h in store.search(query, 24)]
    assert len(store.search(query, 50, within=within)) == len(within)  # fewer only when fewer exist
    assert store.search(query, 5, within=np.zeros(0, np.int64)) == []
    if engine == "postgresql":  # the HNSW settings (the planner may still take the ids' btree), exactly if short
        from kbqa.index.store.postgres import store as pg_store

        monkeypatch.setattr(pg_store, "EXACT_LIMIT", 0)
        monkeypatch.setattr(pg_store, "WITHIN_EXACT", 0)
        assert store.search(query, 5, within=within) == hits


@EMBEDDED_ONLY  # the embedded engine's HNSW file, its live mask and exact tail (PostgreSQL: one SQL path)
def test_search_within_through_the_hnsw_file_and_its_tail(store_location, monkeypatch):
    monkeypatch.setattr(ann, "EXACT_LIMIT", 200)
    monkeypatch.setattr(ann, "TAIL_LIMIT", 1000)
    days = {f"d{n:03d}": f"2025-08-{1 + n % 28:02d}T09:00:00+07:00" for n in range(60)}
    write_dated(store_location, per_doc=5, times=days)  # 300 chunks: an HNSW file
    with open_writer(store_location, "test", DIM) as writer:  # a removal (live mask) and newer rows (the tail)
        writer.remove(["d001"])
        rng = np.random.default_rng(3)
        for n in range(3):
            name = f"tail{n}"
            record = DocRecord(name, f"{name}.txt", name, name, published="2025-08-02T10:00:00+07:00")
            writer.add(record, [ChunkRecord(name, i, 0, 1, name) for i in range(5)], unit(rng, 5))
        writer.commit()
    store = Store(store_location)
    assert type(store.index).__name__ == "AnnIndex" and store.index.tail.ntotal == 15
    within = store.chunks_published("2025-08-02T00:00:00+07:00", "2025-08-03T00:00:00+07:00")
    assert doc_of(store, within) == {"d029", "d057", "tail0", "tail1", "tail2"}  # d001: removed
    query = unit(np.random.default_rng(5), 1)[0]
    table = np.fromfile(Path(store_location) / store.manifest.data / "vectors.f32", np.float32).reshape(-1, DIM)
    best = [int(within[i]) for i in np.argsort(-(table[within] @ query))[:8]]
    assert [h.chunk_id for h in store.search(query, 8, within=within)] == best  # exact over few
    monkeypatch.setattr(ann, "WITHIN_EXACT", 0)  # through the HNSW file with a selector
    hits = store.search(query, 8, within=within)
    assert len(hits) == 8 and {h.chunk_id for h in hits} <= set(within.tolist())
    dead = np.array(sorted(p for p in range(300) if p // 5 == 1), np.int64)  # d001's chunks
    assert store.search(query, 8, within=dead) == []


def test_a_store_from_before_the_column_is_read_then_gets_it_on_the_next_write(store_location, engine):
    write_dated(store_location, times={"old": None})
    if engine == "embedded":
        data = Path(store_location) / Store(store_location).manifest.data / "meta.sqlite"
        with sqlite3.connect(data) as db:  # the documents table as stores made before `published` had it
            db.execute("ALTER TABLE documents DROP COLUMN published")
    else:
        import psycopg

        with psycopg.connect(store_location, autocommit=True) as conn:
            conn.execute("DROP INDEX kbqa.documents_published")
            conn.execute("ALTER TABLE kbqa.documents DROP COLUMN published")
    old = open_store(store_location)
    assert [d.published for d in old.documents()] == [None]
    assert [p.published for p in old.passages([0, 1, 2]).values()] == [None] * 3
    assert old.published_range() == (None, None) and len(old.chunks_published("2025-01-01", None)) == 0
    assert len(old.chunks_published(None, None)) == 3
    write_dated(store_location, times={"new": TIMES["aug5"]})
    assert old.refresh()
    for reader in (old, open_store(store_location)):
        assert {d.doc_id: d.published for d in reader.documents()} == {"old": None, "new": TIMES["aug5"]}
        assert doc_of(reader, reader.chunks_published("2025-08-01", None)) == {"new"}
        assert reader.published_range() == (TIMES["aug5"], TIMES["aug5"])


def test_kbqa_list_shows_the_publication_time(tmp_path, store_location):
    from click.testing import CliRunner

    from kbqa.cli import main

    (tmp_path / "vang.md").write_text(f"---\ntitle: Giá vàng\ndate: 2025-08-07T22:00:00+07:00\n---\n\n{BODY}")
    (tmp_path / "xang.txt").write_text(f"Giá xăng giảm\n{BODY}", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["add", str(tmp_path / "vang.md"), str(tmp_path / "xang.txt"), "--store",
                                store_location]).exit_code == 0  # fmt: skip
    out = runner.invoke(main, ["list", "--json", "--store", store_location]).stdout
    listed = {Path(d["source"]).name: d["published"] for d in map(json.loads, out.splitlines())}
    assert listed == {"vang.md": "2025-08-07T22:00:00+07:00", "xang.txt": None}
    rows = runner.invoke(main, ["list", "--store", store_location]).stdout.splitlines()
    assert sorted(row.split("\t")[3] for row in rows) == ["-", "2025-08-07 22:00"]
