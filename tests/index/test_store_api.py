"""The store interface: the embedded engine implements it, the factories open it, search asks it for keywords."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from kbqa.errors import InputError
from kbqa.index.keyword import KeywordIndex
from kbqa.index.records import ChunkRecord, DocRecord
from kbqa.index.store.api import KeywordSearch, Manifest, StoreReader, StoreWriterAPI, open_store, open_writer
from kbqa.index.store.embedded import Store, StoreWriter
from kbqa.qa.search import StoreKeywords

DIM = 4


def test_the_factories_open_the_embedded_engine_for_a_folder(tmp_path):
    with open_writer(tmp_path, "test", DIM) as writer:
        assert isinstance(writer, StoreWriter) and isinstance(writer, StoreWriterAPI)
        doc = DocRecord("a", "a.txt", "Title a", "giá lúa tăng")
        writer.add(doc, [ChunkRecord("a", 0, 0, 12, "giá lúa tăng")], np.eye(1, DIM, dtype=np.float32))
        committed = writer.commit()
    assert isinstance(committed, Manifest)
    store = open_store(tmp_path, vectors=False)
    assert isinstance(store, Store) and isinstance(store, StoreReader) and store.index is None
    assert store.manifest == committed and isinstance(store.keywords(), KeywordSearch)
    assert isinstance(KeywordIndex(), KeywordSearch)


@pytest.mark.parametrize("url", ["postgresql://kbqa@localhost/news", "postgres://localhost/news"])
def test_a_server_location_without_its_engine_is_a_one_line_error(url, monkeypatch):
    monkeypatch.setitem(
        sys.modules, "kbqa.index.store.postgres.store", None
    )  # as in a kbqa without the PostgreSQL engine
    for call in (lambda: open_store(url), lambda: open_writer(url, "test", DIM)):
        with pytest.raises(InputError, match="no PostgreSQL store engine") as err:
            call()
        assert "\n" not in str(err.value) and "kbqa@" not in str(err.value)


def test_search_takes_the_saved_keyword_index_or_builds_one_from_the_chunks(tmp_path):
    with open_writer(tmp_path, "test", DIM) as writer:
        for n, name in enumerate(("lua", "tau")):
            doc = DocRecord(name, f"{name}.txt", name, f"{name} text")
            writer.add(doc, [ChunkRecord(name, 0, 0, 8, f"{name} text")], np.eye(1, DIM, n, dtype=np.float32))
        writer.commit()
    store = open_store(tmp_path)
    assert StoreKeywords(store).current().search("tau", 2)[0][0] == 1
    for path in (tmp_path / store.manifest.data).glob("keyword-*.json"):
        path.unlink()
    built = StoreKeywords(store).current()
    assert isinstance(built, KeywordIndex) and built.search("lua", 2)[0][0] == 0
