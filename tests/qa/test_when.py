"""qa/when.py: the dates, ranges and recency that Vietnamese and English questions name, and strip_when."""

from __future__ import annotations

import time
import unicodedata
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kbqa.qa.when import ZONE, When, parse_when, strip_when

AS_OF = datetime(2026, 5, 20, 9, 0, tzinfo=ZONE)  # a Wednesday; its week began on Monday 18 May
JANUARY = datetime(2026, 1, 10, 9, 0, tzinfo=ZONE)  # early in a year: "tháng 12", "12/5" look back a year
LATEST = When(latest=True)


def day(iso: str) -> When:
    return When(date.fromisoformat(iso), date.fromisoformat(iso))


def span(first: str | None, last: str | None) -> When:
    return When(first and date.fromisoformat(first), last and date.fromisoformat(last))


TODAY = When(date(2026, 5, 20), date(2026, 5, 20), today=True)

# (question, expected at AS_OF). Compared without `text` (see test_text_and_strip).
CASES: list[tuple[str, When | None]] = [
    # absolute days, day first
    ("Giá xăng dầu ngày 12/5/2026 thế nào?", day("2026-05-12")),
    ("Giá vàng 12/5/2026", day("2026-05-12")),
    ("Tỷ giá USD 12-5-2026", day("2026-05-12")),
    ("Thời tiết Hà Nội 12.5.2026", day("2026-05-12")),
    ("Giá heo hơi 12/5 ra sao?", day("2026-05-12")),
    ("Giá heo hơi 12-5 ra sao?", day("2026-05-12")),
    ("Giá vàng ngày 25/12?", day("2025-12-25")),  # 25/12/2026 is still to come: last year's
    ("Giá vàng 29/2", day("2024-02-29")),  # the latest leap day
    ("Giá vàng ngày 12 tháng 5 năm 2026", day("2026-05-12")),
    ("Giá xăng ngày 12 tháng 5", day("2026-05-12")),
    ("Giá xăng ngày 12/5 năm ngoái", day("2025-05-12")),
    ("What was the gold price on May 12, 2026?", day("2026-05-12")),
    ("Bitcoin price 12 May 2026", day("2026-05-12")),
    ("What happened on May 12?", day("2026-05-12")),
    ("Gold price on 2026-05-12", day("2026-05-12")),
    ("Giá xăng 12-15/5", span("2026-05-12", "2026-05-15")),
    # months, quarters, years
    ("Giá vàng tháng 5/2026", span("2026-05-01", "2026-05-31")),
    ("Lạm phát tháng 5 năm 2026", span("2026-05-01", "2026-05-31")),
    ("Xuất khẩu gạo tháng 4", span("2026-04-01", "2026-04-30")),
    ("Xuất khẩu gạo tháng 8", span("2025-08-01", "2025-08-31")),  # August 2026 is to come
    ("Xuất khẩu gạo tháng Ba", span("2026-03-01", "2026-03-31")),
    ("Xuất khẩu gạo tháng 5 năm ngoái", span("2025-05-01", "2025-05-31")),
    ("Inflation in May 2026", span("2026-05-01", "2026-05-31")),
    ("USD rate May 2026", span("2026-05-01", "2026-05-31")),
    ("What happened in December?", span("2025-12-01", "2025-12-31")),
    ("Doanh thu quý 1/2026", span("2026-01-01", "2026-03-31")),
    ("Revenue in the first quarter of 2025", span("2025-01-01", "2025-03-31")),
    ("GDP năm 2023", span("2023-01-01", "2023-12-31")),
    ("GDP growth in 2023", span("2023-01-01", "2023-12-31")),
    ("Exports since 2020", span("2020-01-01", None)),
    # relative, Vietnamese
    ("Giá vàng hôm nay thế nào?", TODAY),
    ("Giá vàng sáng nay", TODAY),
    ("Giá vàng hôm qua", day("2026-05-19")),
    ("Tối qua có gì?", day("2026-05-19")),
    ("Giá vàng hôm kia", day("2026-05-18")),
    ("Giá vàng tuần này", span("2026-05-18", "2026-05-20")),
    ("Giá vàng tuần trước", span("2026-05-11", "2026-05-17")),
    ("Giá vàng tuần qua tăng bao nhiêu?", span("2026-05-13", "2026-05-20")),  # the rolling week
    ("Giá vàng tháng này", span("2026-05-01", "2026-05-20")),
    ("Giá vàng tháng trước", span("2026-04-01", "2026-04-30")),
    ("GDP năm nay", span("2026-01-01", "2026-05-20")),
    ("GDP năm ngoái", span("2025-01-01", "2025-12-31")),
    ("Giá vàng 3 ngày qua", span("2026-05-17", "2026-05-20")),
    ("Bão số 3 đổ bộ 2 tuần trước", span("2026-05-04", "2026-05-10")),  # the week of 6 May
    ("Giá vàng năm ngày qua", span("2026-05-15", "2026-05-20")),  # "năm" as five
    # relative, English
    ("Gold price today", TODAY),
    ("What happened this morning?", TODAY),
    ("Gold price yesterday", day("2026-05-19")),
    ("What happened last night?", day("2026-05-19")),
    ("News this week", span("2026-05-18", "2026-05-20")),
    ("News last week", span("2026-05-11", "2026-05-17")),
    ("News this month", span("2026-05-01", "2026-05-20")),
    ("News last month", span("2026-04-01", "2026-04-30")),
    ("GDP this year", span("2026-01-01", "2026-05-20")),
    ("GDP last year", span("2025-01-01", "2025-12-31")),
    ("Storms in the last 3 days", span("2026-05-17", "2026-05-20")),
    ("What happened 3 days ago?", day("2026-05-17")),
    # recency
    ("Giá vàng mới nhất ra sao?", LATEST),
    ("Tin gần đây nhất về bão Yagi?", LATEST),
    ("Kết quả gần nhất của đội tuyển?", LATEST),
    ("Lãi suất hiện nay là bao nhiêu?", LATEST),
    ("Ai là tổng thống Mỹ hiện tại?", LATEST),
    ("Giá vàng bây giờ", LATEST),
    ("What is the latest on the war in Ukraine?", LATEST),
    ("What is the most recent gold price?", LATEST),
    ("What is the current inflation rate?", LATEST),
    ("Who currently leads the party?", LATEST),
    ("Who is the president now?", LATEST),
    ("The newest iPhone price", LATEST),
    ("Recent floods in the north", LATEST),
    ("Giá vàng hôm nay mới nhất", When(date(2026, 5, 20), date(2026, 5, 20), latest=True, today=True)),
    # ranges and bounds
    ("Giá vàng từ ngày 1/5 đến 12/5", span("2026-05-01", "2026-05-12")),
    ("Gold from May 1 to May 12, 2026", span("2026-05-01", "2026-05-12")),
    ("Gold between May 1 and May 5", span("2026-05-01", "2026-05-05")),
    ("Giá vàng trước ngày 12/5", span(None, "2026-05-11")),
    ("Gold after May 12", span("2026-05-13", None)),
    ("Giá vàng từ năm 2020 đến nay", span("2020-01-01", "2026-05-20")),
    # Vietnamese typed without diacritics
    ("gia vang hom nay", TODAY),
    ("gia vang thang 5/2026", span("2026-05-01", "2026-05-31")),
    ("gia vang moi nhat", LATEST),
    # no time
    ("Giá vàng thế nào?", None),
    ("Ai là tổng thống Mỹ?", None),
    ("Tỷ lệ 3/4 dân số", None),
    ("Chỉ số tăng 12/5 điểm", None),
    ("Lãi suất 6,5% một năm", None),
    ("COVID-19 lây lan ra sao?", None),
    ("G20 họp ở đâu?", None),
    ("Tuyến số 1 chạy qua đâu?", None),
    ("Năm người bị thương", None),
    ("2023 người tham gia", None),
    ("iPhone 2025 giá bao nhiêu?", None),
    ("Việt Nam thắng Thái Lan 2-1", None),
    ("Kỳ hạn 12 tháng lãi suất 5,5%", None),
    ("Phục vụ 24/7", None),
    ("May I ask who won?", None),
    ("Viet Nam 2045 vision", None),
    ("Korea and the US agree on which technologies?", None),
]


@pytest.mark.parametrize(("question", "expected"), CASES, ids=[q for q, _ in CASES])
def test_parse_when(question: str, expected: When | None) -> None:
    got = parse_when(question, AS_OF)
    if expected is None:
        assert got is None
    else:
        assert got is not None
        assert (got.since, got.until, got.latest, got.today) == (
            expected.since,
            expected.until,
            expected.latest,
            expected.today,
        )


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Xuất khẩu gạo tháng 12", span("2025-12-01", "2025-12-31")),
        ("Giá vàng 12/5", day("2025-05-12")),
        ("Giá vàng tháng trước", span("2025-12-01", "2025-12-31")),
        ("Giá vàng tuần trước", span("2025-12-29", "2026-01-04")),
        ("News last week", span("2025-12-29", "2026-01-04")),
        ("GDP năm ngoái", span("2025-01-01", "2025-12-31")),
    ],
)
def test_across_the_new_year(question: str, expected: When) -> None:
    got = parse_when(question, JANUARY)
    assert got is not None and (got.since, got.until) == (expected.since, expected.until)


def test_reference_day_is_taken_in_the_archive_zone() -> None:
    evening_utc = datetime(2026, 5, 19, 20, 0, tzinfo=UTC)  # 03:00 on 20 May in +07:00
    assert parse_when("Giá vàng hôm nay", evening_utc) == When(
        date(2026, 5, 20), date(2026, 5, 20), today=True, text="hôm nay"
    )
    naive = datetime(2026, 5, 20, 23, 30)  # taken as already in +07:00
    assert parse_when("today", naive).since == date(2026, 5, 20)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("question", "text", "stripped"),
    [
        ("Giá xăng dầu ngày 12/5/2026 thế nào?", "ngày 12/5/2026", "Giá xăng dầu thế nào?"),
        ("Giá vàng hôm nay thế nào?", "hôm nay", "Giá vàng thế nào?"),
        ("Giá vàng mới nhất ra sao?", "mới nhất", "Giá vàng ra sao?"),
        ("What was the gold price on May 12, 2026?", "on May 12, 2026", "What was the gold price?"),
        ("What happened in May 2026 in Hanoi?", "in May 2026", "What happened in Hanoi?"),
        ("What is the latest on the war in Ukraine?", "the latest", "What is on the war in Ukraine?"),
        ("Giá vàng từ ngày 1/5 đến 12/5?", "từ ngày 1/5; đến 12/5", "Giá vàng?"),
        ("Hôm qua, giá vàng tăng bao nhiêu?", "Hôm qua", "giá vàng tăng bao nhiêu?"),
        ("GDP năm 2023  tăng   bao nhiêu ?", "năm 2023", "GDP tăng bao nhiêu?"),
    ],
)
def test_text_and_strip(question: str, text: str, stripped: str) -> None:
    when = parse_when(question, AS_OF)
    assert when is not None and when.text == text
    assert strip_when(question, when) == stripped


def test_strip_without_time_only_tidies() -> None:
    assert strip_when("  Giá vàng   thế nào ?", When()) == "Giá vàng thế nào?"


def test_decomposed_unicode_is_read() -> None:
    question = unicodedata.normalize("NFD", "Giá vàng hôm nay thế nào?")
    when = parse_when(question, AS_OF)
    assert when is not None and when.today
    assert strip_when(question, when) == "Giá vàng thế nào?"


def test_to_json() -> None:
    assert day("2026-05-12").to_json() == {"from": "2026-05-12", "to": "2026-05-12", "latest": False}
    assert LATEST.to_json() == {"from": None, "to": None, "latest": True}
    assert span("2020-01-01", None).to_json() == {"from": "2020-01-01", "to": None, "latest": False}


def test_fast_on_questions_without_dates() -> None:
    questions = [q for q, expected in CASES if expected is None]
    parse_when(questions[0], AS_OF)
    rounds = 200
    start = time.perf_counter()
    for _ in range(rounds):
        for question in questions:
            parse_when(question, AS_OF)
    per_question = (time.perf_counter() - start) / (rounds * len(questions))
    assert per_question < 0.2e-3 * 2  # 0.2 ms is the budget; twice that leaves room for a loaded test machine


_WORDS = [
    "ngày", "hôm", "nay", "qua", "kia", "tuần", "tháng", "năm", "trước", "ngoái", "này", "mới", "nhất", "gần",
    "đây", "hiện", "từ", "đến", "sau", "quý", "today", "yesterday", "last", "this", "past", "week", "month", "year",
    "ago", "in", "on", "since", "before", "after", "between", "and", "to", "May", "may", "Dec", "the", "latest",
    "12/5", "31/2", "29/2", "12-5-2026", "2026-05-12", "0/0", "99/99", "1990", "2100", "9999", "0", "3", "999",
    "/", "-", ".", ",", "%", "Q1", "first", "quarter", "hom", "thang", "nam", "vừa", "rồi", "days", "weeks",
]  # fmt: skip
_AS_OF = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.sampled_from([ZONE, UTC])
)


@settings(max_examples=400, deadline=None)
@given(
    question=st.one_of(
        st.text(max_size=80), st.lists(st.sampled_from(_WORDS) | st.text(max_size=4), max_size=12).map(" ".join)
    ),
    as_of=_AS_OF,
)
def test_never_raises_and_ranges_are_ordered(question: str, as_of: datetime) -> None:
    when = parse_when(question, as_of)
    if when is None:
        return
    if when.since and when.until:
        assert when.since <= when.until
    assert when.since or when.until or when.latest
    normal = unicodedata.normalize("NFC", question)
    assert all(piece in normal for piece in when.text.split("; "))
    assert isinstance(strip_when(question, when), str)
    when.to_json()


def test_extreme_reference_days() -> None:
    for as_of in (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=ZONE)):
        for question in ("5 năm qua", "last year", "100 years ago", "tuần trước", "12/5", "tháng 12", "hôm kia"):
            when = parse_when(question, as_of)
            assert when is None or not (when.since and when.until) or when.since <= when.until
    assert parse_when("hôm qua", AS_OF - timedelta(days=1)) == When(
        date(2026, 5, 18), date(2026, 5, 18), text="hôm qua"
    )
