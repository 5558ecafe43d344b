"""`index/store/migrate.py` on a real server: embedded → PostgreSQL → embedded keeps every record, vector and answer; a
refused or failed migration leaves the destination as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kbqa.errors import IndexMissingError, InputError
from kbqa.index.store import migrate as migrate_module
from kbqa.index.store.api import open_store
from kbqa.index.store.migrate import migrate
from tests.conftest import ROOT

pytest_plugins = ["tests.pgfixture"]  # the `pg_url` fixture: a fresh database on a real server

QUESTIONS = [
    "Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?",
    "Khi nào Mỹ và Trung Quốc đàm phán về AI?",
    "Which technologies did Korea and the US agree on?",
    "TikTok",
]


def contents(location: str) -> tuple[list[tuple], np.ndarray, tuple]:
    """Everything a store holds, chunk ids aside: (documents with chunks, path, hash), vectors, manifest counts."""
    store = open_store(location, vectors=False)
    try:
        records = list(store.document_records())
        ids = [i for r in records for i in r.chunk_ids]
        m = store.manifest
        rows = [(r.doc, r.chunks, r.path, r.stored_hash) for r in records]
        return rows, store.vectors(ids), (m.embedder, m.dim, m.documents, m.chunks)
    finally:
        store.close()


def answers(location: str, monkeypatch) -> list[dict]:
    from kbqa.config import Settings
    from kbqa.qa.chain import Assistant

    monkeypatch.chdir(ROOT)
    assistant = Assistant(Settings(store=location))
    out = []
    for question in QUESTIONS:
        answer = assistant.ask(question).to_json()
        for item in answer["citations"] + answer["passages"]:
            item["score"] = round(item["score"], 3)
        answer["support"] = round(answer["support"], 3)
        out.append(answer)
    return out


def test_round_trip_keeps_records_vectors_and_answers(seed_settings, pg_url, tmp_path, monkeypatch):
    seen = []
    report = migrate(seed_settings.store, pg_url, progress=lambda *a: seen.append(a))
    original = contents(seed_settings.store)
    assert (report.documents, report.chunks) == original[2][2:] and seen[-1][:2] == (report.documents,) * 2
    back = str(tmp_path / "back")
    migrate(pg_url, back)
    for location in (pg_url, back):
        rows, vectors, counts = contents(location)
        assert rows == original[0] and counts == original[2]
        assert vectors.dtype == np.float32 and np.array_equal(vectors, original[1])
    expected = answers(seed_settings.store, monkeypatch)
    assert answers(pg_url, monkeypatch) == expected
    assert answers(back, monkeypatch) == expected
    assert expected[0]["found"] and expected[0]["citations"]


def test_a_non_empty_destination_needs_rebuild(seed_settings, pg_url, tmp_path):
    small = tmp_path / "small"
    migrate(seed_settings.store, small)
    migrate(seed_settings.store, pg_url)
    generation = open_store(pg_url).manifest.generation
    with pytest.raises(InputError, match="already holds an index.*--rebuild"):
        migrate(small, pg_url)
    assert open_store(pg_url).manifest.generation == generation
    with pytest.raises(InputError, match="same store"):
        migrate(small, str(small) + "/")
    with pytest.raises(IndexMissingError, match="no index at"):
        migrate(tmp_path / "nothing", tmp_path / "other")
    assert not (tmp_path / "other").exists()
    migrate(small, pg_url, rebuild=True)
    assert open_store(pg_url).manifest.generation == generation + 1


@pytest.mark.parametrize("to_server", [True, False])
def test_a_failed_migration_leaves_the_destination_as_it_was(seed_settings, pg_url, tmp_path, monkeypatch, to_server):
    import shutil

    from kbqa.config import Settings
    from kbqa.index.build import build_index

    destination = pg_url if to_server else str(tmp_path / "dest")
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(ROOT / "seeds" / "000_f8aa576ae32182a5.txt", docs)
    build_index([docs], Settings(store=destination, cache=seed_settings.cache))
    before = contents(destination)
    generation = open_store(destination).manifest.generation
    monkeypatch.setattr(migrate_module, "BATCH_CHUNKS", 4)  # several batches: stop after the first

    def interrupted(done: int, total: int, chunks: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        migrate(seed_settings.store, destination, rebuild=True, progress=interrupted)
    after = open_store(destination)
    assert after.manifest.generation == generation
    assert contents(destination)[0] == before[0] and np.array_equal(contents(destination)[1], before[1])
    fresh = tmp_path / "fresh"
    with pytest.raises(KeyboardInterrupt):
        migrate(seed_settings.store, fresh, progress=interrupted)
    assert not Path(fresh).exists()  # a folder the failed migration made is gone again
