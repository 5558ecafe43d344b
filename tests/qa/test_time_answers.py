"""Answers that know when, on both store engines: "mới nhất" picks the newest of three articles on one topic, a
dated question is answered from that day, a date the archive does not cover is "not found" with its range,
--since/--until limit the search, and the answer names its article's date."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from kbqa.cli import main
from kbqa.config import Settings
from kbqa.index.build import build_index
from kbqa.qa.chain import Assistant
from kbqa.qa.timeline import ZONE, Period

pytest_plugins = ["tests.engines"]

# Three gold-price briefs on three days, and other news on the same days (Markdown with front matter dates).
ARTICLES = {
    "vang-0815": ("2026-08-15T08:30:00+07:00", "Giá vàng hôm nay 15/8 tăng nhẹ",
                  "Giá vàng SJC sáng nay niêm yết ở mức 80,5 triệu đồng mỗi lượng, tăng 300.000 đồng so với hôm qua."),
    "vang-0819": ("2026-08-19T08:10:00+07:00", "Giá vàng hôm nay 19/8 đi ngang",
                  "Giá vàng SJC sáng nay giữ ở mức 81,2 triệu đồng mỗi lượng, không đổi so với phiên trước."),
    "vang-0822": ("2026-08-22T09:15:00+07:00", "Giá vàng hôm nay 22/8 lập đỉnh mới",
                  "Giá vàng SJC sáng nay lên 82,7 triệu đồng mỗi lượng, cao nhất từ trước đến nay."),
    "bao-0815": ("2026-08-15T10:00:00+07:00", "Bão số 3 đổ bộ Quảng Ninh",
                 "Bão số 3 đổ bộ vào Quảng Ninh chiều nay với sức gió cấp 10, hàng nghìn người được sơ tán."),
    "bao-0815-khac": (
        "2026-08-15T11:40:00+07:00",
        "Quảng Ninh sơ tán hàng nghìn người khi bão số 3 đổ bộ",
        "Chiều nay bão số 3 đổ bộ vào Quảng Ninh với sức gió cấp 10, hàng nghìn người dân đã được sơ tán.",
    ),
    "lua-0819": ("2026-08-19T15:00:00+07:00", "Giá lúa tại An Giang tăng",
                 "Giá lúa tươi tại An Giang tăng thêm 500 đồng mỗi kg do nhu cầu xuất khẩu gạo tăng cao."),
    "metro-0822": ("2026-08-22T07:00:00+07:00", "Metro số 1 đạt kỷ lục hành khách",
                   "Tuyến metro số 1 Bến Thành – Suối Tiên chở hơn 100.000 lượt khách trong ngày cuối tuần."),
}  # fmt: skip
AS_OF = datetime(2026, 8, 23, 9, 0, tzinfo=ZONE)


@pytest.fixture
def dated_settings(store_location: str, tmp_path: Path) -> Settings:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, (published, title, text) in ARTICLES.items():
        front = f"---\ntitle: {title}\ndate: {published}\n---\n\n# {title}\n\n{text}\n"
        (docs / f"{name}.md").write_text(front, encoding="utf-8")
    settings = Settings(store=store_location, cache=str(tmp_path / "cache"))
    build_index([docs], settings)
    return settings


def cited(answer) -> str:  # noqa: ANN001 - an Answer
    return Path(answer.citations[0].passage.source).stem


def test_latest_is_the_newest_of_three_and_says_so_with_its_date(dated_settings: Settings) -> None:
    assistant = Assistant(dated_settings)
    for question in ("Giá vàng mới nhất thế nào?", "Giá vàng hôm nay ra sao?", "What is the latest gold price?"):
        answer = assistant.ask(question, period=Period(as_of=AS_OF))
        assert answer.found and cited(answer) == "vang-0822", question
        assert answer.when is not None and answer.when.to_json()["latest"] or answer.when.today
        assert answer.citations[0].passage.published == "2026-08-22T09:15:00+07:00"
    vi = assistant.ask("Giá vàng mới nhất thế nào?", period=Period(as_of=AS_OF))
    assert vi.answer.startswith("Mới nhất, theo") and "ngày 22/8/2026" in vi.lead
    en = assistant.ask("What is the latest gold price?", period=Period(as_of=AS_OF))
    assert "22 August 2026" in en.answer


def test_a_dated_question_is_answered_from_that_day(dated_settings: Settings) -> None:
    assistant = Assistant(dated_settings)
    asked = (
        "Giá vàng ngày 19/8/2026 thế nào?",
        "Giá vàng 19.8.2026 ra sao?",
        "What was the gold price on August 19, 2026?",
    )
    for question in asked:
        answer = assistant.ask(question, period=Period(as_of=AS_OF))
        assert answer.found and cited(answer) == "vang-0819", question
        assert answer.when.since == answer.when.until == date(2026, 8, 19)
    undated = assistant.ask("Giá vàng thế nào?", period=Period(as_of=AS_OF))
    assert undated.when is None and undated.found  # no date words: ranking as before


def test_a_date_outside_the_archive_is_not_found_with_the_range(dated_settings: Settings) -> None:
    assistant = Assistant(dated_settings)
    answer = assistant.ask("Giá vàng ngày 3/3/2024 thế nào?", period=Period(as_of=AS_OF))
    assert not answer.found and answer.note == "Kho bài có từ 15/8/2026 đến 22/8/2026."
    english = assistant.ask("What was the gold price in March 2024?", period=Period(as_of=AS_OF))
    assert not english.found and english.note == "The archive runs from 15 August 2026 to 22 August 2026."


def test_since_and_until_limit_the_search_from_the_command_line(
    dated_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KBQA_CACHE", dated_settings.cache)
    runner = CliRunner()
    args = ["ask", "--json", "--store", dated_settings.store, "Giá vàng thế nào?"]
    result = runner.invoke(main, [*args, "--since", "2026-08-14", "--until", "16/8/2026"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["found"] and Path(data["citations"][0]["source"]).stem == "vang-0815"
    assert data["when"] == {"from": "2026-08-14", "to": "2026-08-16", "latest": False}
    assert data["citations"][0]["published"] == "2026-08-15T08:30:00+07:00"
    assert "ngày 15/8/2026" in data["answer"]
    assert all(p["published"] <= "2026-08-17" for p in data["passages"])
    bad = runner.invoke(main, [*args, "--since", "yesterday-ish"])
    assert bad.exit_code == 1 and bad.stderr.strip().count("\n") == 0 and "--since must be a day" in bad.stderr


def test_the_same_story_from_two_outlets_is_cited_once_and_named(dated_settings: Settings) -> None:
    answer = Assistant(dated_settings).ask("Bão số 3 đổ bộ vào đâu?", period=Period(as_of=AS_OF))
    assert answer.found and len(answer.citations) == 1
    stories = {cited(answer), *(Path(p.source).stem for p in answer.also)}
    assert stories == {"bao-0815", "bao-0815-khac"}
    assert "Cùng tin này:" in answer.note
    assert [p["source"] for p in answer.to_json()["also_reported"]] == [p.source for p in answer.also]
    gold = Assistant(dated_settings).ask("Giá vàng ngày 22/8/2026 thế nào?", period=Period(as_of=AS_OF))
    assert gold.found and gold.also == []  # other days' gold prices are other stories


def test_a_date_with_nothing_on_the_topic_answers_from_another_day_and_says_so(dated_settings: Settings) -> None:
    # the rice price is from 19/8; the 22nd holds gold and metro news: a date in a question may be the event's
    answer = Assistant(dated_settings).ask("Giá lúa tại An Giang ngày 22/8/2026 thế nào?", period=Period(as_of=AS_OF))
    assert answer.found and cited(answer) == "lua-0819"
    assert "ngày 19/8/2026" in answer.lead and answer.note.startswith("Không có bài nào về chủ đề này")
