"""Every commit saves its generation's keyword index: built on the first, then updated by what changed."""

from __future__ import annotations

from pathlib import Path

from kbqa.config import Settings
from kbqa.index import keyword
from kbqa.index.build import add_paths, build_index, remove_documents
from kbqa.index.store.embedded import read_manifest


def _saved(settings: Settings):
    manifest = read_manifest(settings.store)
    return keyword.load(Path(settings.store) / manifest.data, manifest.generation)


def test_commits_keep_the_keyword_index_in_step(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lua.txt").write_text("Giá lúa tăng\nGiá lúa tại An Giang tăng thêm 500 đồng mỗi kg.\n", encoding="utf-8")
    settings = Settings(store=str(tmp_path / ".kbqa"))
    build_index(["docs"], settings)
    first = _saved(settings)
    assert first is not None and first.search("lúa An Giang", 3)
    question = "tàu điện Nhổn bốn toa"
    assert first.search(question, 3) == []

    (tmp_path / "tau.txt").write_text("Tàu điện Nhổn\nMỗi đoàn tàu điện Nhổn có bốn toa.\n", encoding="utf-8")
    add_paths(["tau.txt"], settings)
    added = _saved(settings)
    hits = added.search(question, 3)
    assert hits and len(added) == len(first) + 1

    remove_documents(["tau.txt"], settings)
    after = _saved(settings)
    assert after.search(question, 3) == [] and after.search("lúa An Giang", 3)
    kept = sorted(p.name for p in (Path(settings.store) / read_manifest(settings.store).data).glob("keyword-*.json"))
    assert len(kept) == 3  # one per generation still within reach of lagging readers
