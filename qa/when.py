"""What time a question asks about: the days (and/or recency) named in a Vietnamese or English question."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from kbqa.text.language import is_vietnamese

# The archive's zone: Vietnamese outlets publish in +07:00, and a question's "hôm nay" is a day there.
ZONE = timezone(timedelta(hours=7))
_JOIN = "; "  # between the pieces of When.text when a question names its time in more than one place


@dataclass(frozen=True)
class When:
    """The time a question asks about: a range of days (inclusive, local dates in the archive's zone) and/or
    recency intent."""

    since: date | None = None  # first day asked about (None: open)
    until: date | None = None  # last day asked about (None: open)
    latest: bool = False  # "mới nhất", "latest", "hiện nay"...: the newest on-topic articles first
    today: bool = False  # the range came from "hôm nay"/"today": when the archive has nothing from that day, the
    # newest on-topic article answers instead
    text: str = ""  # the words that said it, e.g. "ngày 12/5/2026" (pieces joined by "; "), for `strip_when`

    def to_json(self) -> dict:
        """{"from": "2026-05-12" | None, "to": "2026-05-12" | None, "latest": bool}"""
        return {
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            "latest": self.latest,
        }


# No library reads the phrases questions use: dateparser is slow (~ms a call), wants a whole date string and has no
# "tuần trước"/"hôm kia"/"3 ngày qua"; dateutil knows no Vietnamese. So the patterns are written here, each with the
# diacritics, and each compiled twice: as written, for text with Vietnamese letters, and with the letters folded to
# ASCII ("hom nay", "thang 5"), for text without one (English, or Vietnamese typed without diacritics).


def _fold_table() -> dict[int, str]:
    table = {ord("đ"): "d", ord("Đ"): "D"}
    for cp in range(0xC0, 0x1EFA):
        base = unicodedata.normalize("NFD", chr(cp))[0]
        if base != chr(cp) and base.isascii() and base.isalpha():
            table[cp] = base
    return table


_FOLD = _fold_table()


def _fold(text: str) -> str:
    """`text` with Vietnamese letters as their ASCII base letters (same length: offsets are kept)."""
    return text.translate(_FOLD)


def _both(source: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    return re.compile(source, re.IGNORECASE), re.compile(_fold(source), re.IGNORECASE)


# Pieces of patterns.
_B = r"(?<![\w.,/])"  # a number starts here (not inside another number or word)
_NB = r"(?!\w|[.,/]\d|\s*%)"  # and ends here (not "12/5/20", "12/5,5", "12/5%")
_DAY = r"(?P<d>3[01]|[12]\d|0?[1-9])"
_MON = r"(?P<m>1[0-2]|0?[1-9])"
_YEAR = r"(?P<y>\d{4})"
_YREL = r"\s+(?P<yrel>năm\s+(?:nay|ngoái|trước|rồi))"  # "tháng 5 năm ngoái"
_CUE = r"(?P<cue>(?:(?:vào|trong)\s+)?(?:ngày|hôm)\s+|vào\s+|on\s+(?:the\s+)?)?"
_MN = (
    r"(?P<mn>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_ORD = r"(?:st|nd|rd|th)?"
_EYEAR = r"(?:,?\s+" + _YEAR + r")?"
_VI_N = r"\d{1,3}|một|hai|ba|bốn|năm|sáu|bảy|tám|chín|mười|vài|mấy"
_EN_N = r"\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|a\s+few|few|several"

_NUMBERS = {
    **{w: i for i, w in enumerate(("mot", "hai", "ba", "bon", "nam", "sau", "bay", "tam", "chin", "muoi"), 1)},
    **{w: i for i, w in enumerate(("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"), 1)},
    "a": 1, "an": 1, "vai": 3, "may": 3, "few": 3, "a few": 3, "several": 3,
}  # fmt: skip
_VI_MONTHS = {
    "gieng": 1, "hai": 2, "ba": 3, "tu": 4, "bon": 4, "nam": 5, "sau": 6, "bay": 7, "tam": 8, "chin": 9,
    "muoi": 10, "muoi mot": 11, "muoi hai": 12, "chap": 12,
}  # fmt: skip
_EN_MONTHS = {
    m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)
}
_UNITS = {"ngay": "day", "tuan": "week", "thang": "month", "nam": "year"}
_QUARTERS = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "first": 1, "second": 2, "third": 3, "fourth": 4}
_ROLES = {
    "ke tu": "since", "since": "since", "tu": "since",  # Vietnamese "từ năm 2020" is "since 2020"
    "from": "open", "between": "open", "giua": "open",  # the start of a range only when an end follows
    "after": "after", "sau": "after", "before": "before", "truoc": "before",
    "until": "until", "till": "until", "up to": "until", "cho den": "until", "den": "until", "toi": "until",
    "through": "until", "by": "until",
    "to": "pair", "and": "pair", "va": "pair", "-": "pair", "–": "pair", "—": "pair",
}  # fmt: skip

# Context where a bare "3/4" or "2-1" is a fraction or a score, not a day.
_NOT_DAY_BEFORE = _both(
    r"(?:^|[\s(])(?:tỷ\s+lệ|tỉ\s+lệ|tỷ\s+số|tỉ\s+số|chiếm|khoảng|gần|hơn|trên|dưới|tăng|giảm|điểm|đạt|được|còn|là|"
    r"ratio|score|about|nearly|over|under|than|rate|is|was|of)\s*$"
)
_NOT_DAY_AFTER = _both(r"^\s*(?:%|phần|lần|dân|số|người|of|trong|cases|people|votes|điểm|points?|cup)\b")
_SCORE = _both(r"\b(?:tỷ\s+số|tỉ\s+số|thắng|thua|hòa|hoà|hạ|đánh\s+bại|chung\s+cuộc|beat|won|lost|drew|score|vs)\b")
_MONTHS_COUNTED = _both(r"\b(?:hạn|trong|sau|gói|mất|vòng|mỗi)\s*$")  # "kỳ hạn 12 tháng": twelve months
_BOUND = _both(
    r"(?:(?:^|[\s,(])(?P<b>kể\s+từ|từ|since|from|after|sau|between|giữa|before|trước|until|till|up\s+to|"
    r"cho\s+đến|đến|tới|to|through|by|and|và)|(?P<dash>[-–—]))\s*$"
)


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    since: date | None = None
    until: date | None = None
    latest: bool = False
    today: bool = False
    role: str = ""  # "" (the range itself), since, after, until, before, open, pair: see _ROLES


@dataclass(frozen=True)
class _Ctx:
    text: str
    today: date
    flavour: int  # 0: patterns with diacritics; 1: folded


def _key(text: str | None) -> str:
    """A matched word as the tables' keys spell it: folded, lower case, single spaces."""
    return " ".join(_fold(text or "").lower().split())


def _last_day(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def _month(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), _last_day(year, month)


def _minus_months(day: date, n: int) -> date:
    months = day.year * 12 + day.month - 1 - n
    year, month = divmod(months, 12)
    return date(year, month + 1, min(day.day, _last_day(year, month + 1).day))


def _recent_day(day: int, month: int, today: date) -> date | None:
    """Day/month without a year: in today's year, or the year before when that day is still to come (the latest
    such day not after today; 29/2 looks back to a leap year)."""
    for year in range(today.year, today.year - 8, -1):
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found <= today:
            return found
    return None


def _year_of(m: re.Match[str], today: date) -> int | None:
    """The year a match names (4 digits or "năm nay/ngoái"), None when it names none."""
    if m.group("y"):
        return int(m.group("y"))
    rel = m.groupdict().get("yrel")
    if rel:
        return today.year if _key(rel).endswith("nay") else today.year - 1
    return None


def _is_bare_day(m: re.Match[str], c: _Ctx) -> bool:
    """A day/month without year or cue ("12/5", "12-5") is taken unless its context says fraction or score."""
    if m.group("sep") == "." or m.group(0) in ("24/7", "24-7"):
        return False
    if _NOT_DAY_BEFORE[c.flavour].search(c.text, max(0, m.start() - 20), m.start()):
        return False
    if _NOT_DAY_AFTER[c.flavour].match(c.text, m.end()):
        return False
    return not (m.group("sep") != "/" and _SCORE[c.flavour].search(c.text))


def _day_hit(m: re.Match[str], day: date | None, until: date | None = None) -> _Hit | None:
    if day is None:
        return None
    return _Hit(m.start(), m.end(), day, until or day)


def _numeric(m: re.Match[str], c: _Ctx) -> _Hit | None:
    """12/5/2026, 12-5-2026, 12.5.2026, ngày 12/5, 12-5, ngày 12/5 năm ngoái; with d1: 12-15/5 (a range)."""
    day, month, year = int(m.group("d")), int(m.group("m")), _year_of(m, c.today)
    if year is None and not m.group("cue") and not _is_bare_day(m, c):
        return None
    first = int(m.groupdict().get("d1") or day)
    if year is None:
        end = _recent_day(day, month, c.today)
        return _day_hit(m, end and date(end.year, month, first), end)
    return _day_hit(m, date(year, month, first), date(year, month, day))


def _iso(m: re.Match[str], c: _Ctx) -> _Hit | None:
    return _day_hit(m, date(int(m.group("y")), int(m.group("m")), int(m.group("d"))))


def _vi_day(m: re.Match[str], c: _Ctx) -> _Hit | None:
    """12 tháng 5 năm 2026, ngày 12 tháng 5 ("12 tháng" alone is twelve months: "kỳ hạn 12 tháng 5,5%" is not)."""
    day, month, year = int(m.group("d")), int(m.group("m")), _year_of(m, c.today)
    if not m.group("cue") and _NOT_DAY_BEFORE[c.flavour].search(c.text, max(0, m.start() - 20), m.start()):
        return None
    if _MONTHS_COUNTED[c.flavour].search(c.text, max(0, m.start() - 12), m.start()):
        return None
    return _day_hit(m, _recent_day(day, month, c.today) if year is None else date(year, month, day))


def _vi_month(m: re.Match[str], c: _Ctx) -> _Hit | None:
    """tháng 5/2026, tháng 5 năm 2026, tháng 5, tháng Ba (a month's name only capitalised: "tháng ba" is rare)."""
    if m.group("m"):
        month = int(m.group("m"))
    else:
        if not m.group("mw")[0].isupper():
            return None
        month = _VI_MONTHS[_key(m.group("mw"))]
    return _month_hit(m, month, _year_of(m, c.today), c.today)


def _month_hit(m: re.Match[str], month: int, year: int | None, today: date, role: str = "") -> _Hit:
    if year is None:
        year = today.year if month <= today.month else today.year - 1
    return _Hit(m.start(), m.end(), *_month(year, month), role=role)


def _en_month_number(m: re.Match[str]) -> int | None:
    """The month an English name gives; a lower-case "may" with no year is the verb."""
    name = m.group("mn")
    if name.lower() == "may" and not name[0].isupper() and not m.group("y"):
        return None
    return _EN_MONTHS[name[:3].lower()]


def _en_day(m: re.Match[str], c: _Ctx) -> _Hit | None:
    """May 12, 2026 / 12 May 2026 / on May 12 / the 12th of May."""
    month = _en_month_number(m)
    if month is None:
        return None
    day, year = int(m.group("d")), _year_of(m, c.today)
    return _day_hit(m, _recent_day(day, month, c.today) if year is None else date(year, month, day))


def _en_month(m: re.Match[str], c: _Ctx) -> _Hit | None:
    """in May 2026, May 2026, in May, since May (a month name alone is no date: "May I ask")."""
    month = _en_month_number(m)
    if month is None or not (m.group("cue") or m.group("y")):
        return None
    return _month_hit(m, month, _year_of(m, c.today), c.today, _ROLES.get(_key(m.group("cue")), ""))


def _year(m: re.Match[str], c: _Ctx) -> _Hit | None:
    """năm 2023, in 2023, since 2020: a year needs its cue word and lies in 1990–2100 ("iPhone 2025" is no date)."""
    year = int(m.group("y"))
    if not 1990 <= year <= 2100:
        return None
    return _Hit(m.start(), m.end(), date(year, 1, 1), date(year, 12, 31), role=_ROLES.get(_key(m.group("cue")), ""))


def _quarter(m: re.Match[str], c: _Ctx) -> _Hit | None:
    """quý 1/2026, quý I năm 2026, Q1 2026, the first quarter of 2026."""
    q = _key(m.group("q"))
    quarter = int(q[0]) if q[0].isdigit() else _QUARTERS[q]
    year = _year_of(m, c.today)
    if year is None:
        if _key(m.group(0)).startswith("q") and not _key(m.group(0)).startswith("quy"):
            return None  # "Q4" alone: a product as often as a quarter
        year = c.today.year if 3 * quarter - 2 <= c.today.month else c.today.year - 1
    return _Hit(m.start(), m.end(), date(year, 3 * quarter - 2, 1), _last_day(year, 3 * quarter))


def _period(unit: str, rel: str, today: date) -> tuple[date, date]:
    """This/last/past day, week (from Monday), month or year; "this" ends on the reference day."""
    monday = today - timedelta(days=today.weekday())
    if rel == "this":
        start = {"day": today, "week": monday, "month": today.replace(day=1), "year": date(today.year, 1, 1)}
        return start[unit], today
    if rel == "last":
        if unit == "day":
            return today - timedelta(days=1), today - timedelta(days=1)
        if unit == "week":
            return monday - timedelta(days=7), monday - timedelta(days=1)
        if unit == "month":
            before = today.replace(day=1) - timedelta(days=1)
            return _month(before.year, before.month)
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    return _back(today, 1, unit), today  # past: rolling


def _back(today: date, n: int, unit: str) -> date:
    if unit == "day":
        return today - timedelta(days=n)
    if unit == "week":
        return today - timedelta(days=7 * n)
    return _minus_months(today, n * (12 if unit == "year" else 1))


def _ago(today: date, n: int, unit: str) -> tuple[date, date]:
    """The day, week, month or year that was `n` of them before `today`."""
    day = _back(today, n, unit)
    if unit == "day":
        return day, day
    if unit == "week":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    if unit == "month":
        return _month(day.year, day.month)
    return date(day.year, 1, 1), date(day.year, 12, 31)


def _unit(word: str) -> str:
    key = _key(word)
    return _UNITS.get(key) or key.rstrip("s")


def _vi_period(m: re.Match[str], c: _Ctx) -> _Hit:
    """tuần này/trước/qua, tháng này/trước, năm nay/ngoái ("qua": the rolling past week, month, year)."""
    rel = _key(m.group("rel"))
    rel = "this" if rel == "nay" else "past" if rel.endswith("qua") else "last"
    return _Hit(m.start(), m.end(), *_period(_unit(m.group("unit")), rel, c.today))


def _en_period(m: re.Match[str], c: _Ctx) -> _Hit:
    """this/last/past/previous week, month, year ("past": rolling, "last": the calendar one before)."""
    rel = {"previous": "last"}.get(_key(m.group("rel")), _key(m.group("rel")))
    return _Hit(m.start(), m.end(), *_period(_unit(m.group("unit")), rel, c.today))


def _n_units(m: re.Match[str], c: _Ctx) -> _Hit | None:
    """3 ngày qua, 2 tuần gần đây, in the last 3 days (since that many back, to today); 3 ngày trước, 3 days ago
    (that day; that week, month or year)."""
    n = int(m.group("n")) if m.group("n").isdigit() else _NUMBERS.get(_key(m.group("n")), 0)
    if not 0 < n <= 400:
        return None
    unit, rel = _unit(m.group("unit")), _key(m.groupdict().get("rel") or "past")
    if rel in ("truoc", "ago"):
        return _Hit(m.start(), m.end(), *_ago(c.today, n, unit))
    return _Hit(m.start(), m.end(), _back(c.today, n, unit), c.today)


def _days_back(n: int, today: bool = False) -> Callable[[re.Match[str], _Ctx], _Hit]:
    def hit(m: re.Match[str], c: _Ctx) -> _Hit:
        day = c.today - timedelta(days=n)
        return _Hit(m.start(), m.end(), day, day, today=today)

    return hit


def _latest(m: re.Match[str], c: _Ctx) -> _Hit:
    return _Hit(m.start(), m.end(), latest=True)


def _until_now(m: re.Match[str], c: _Ctx) -> _Hit:
    return _Hit(m.start(), m.end(), None, c.today)


@dataclass(frozen=True)
class _Rule:
    gates: tuple[tuple[str, ...], tuple[str, ...]]  # a pattern runs only when the text holds one ("#": a digit)
    patterns: tuple[re.Pattern[str], re.Pattern[str]]
    handler: Callable[[re.Match[str], _Ctx], _Hit | None]


def _rule(gates: str, source: str, handler: Callable[[re.Match[str], _Ctx], _Hit | None]) -> _Rule:
    words = tuple(gates.split("|"))
    return _Rule((words, tuple(_fold(w) for w in words)), _both(source), handler)


_DATE_YEAR = r"(?:(?P=sep)" + _YEAR + "|" + _YREL + ")?"
_WORDS_YEAR = r"(?:\s*(?:[/,\-]|năm)\s*" + _YEAR + "|" + _YREL + ")?"
_RULES: list[_Rule] = [
    _rule("#", _B + r"(?P<cue>(?:(?:vào\s+)?ngày|on)\s+)?" + _YEAR + r"-" + _MON + r"-" + _DAY + _NB, _iso),
    _rule("#", _B + _CUE + r"(?P<d1>3[01]|[12]\d|0?[1-9])\s*[-–]\s*" + _DAY + r"(?P<sep>[/.])" + _MON + _DATE_YEAR
          + _NB, _numeric),
    _rule("#", _B + _CUE + _DAY + r"(?P<sep>[/.\-])" + _MON + _DATE_YEAR + _NB, _numeric),
    _rule("tháng", _B + r"(?P<cue>(?:vào\s+)?ngày\s+)?" + _DAY + r"\s+tháng\s+" + _MON + _WORDS_YEAR + _NB, _vi_day),
    _rule("tháng", r"\b(?:(?:trong|vào)\s+)?tháng\s+(?:" + _MON + r"|(?P<mw>giêng|hai|ba|tư|bốn|năm|sáu|bảy|tám|chín|"
          r"mười\s+một|mười\s+hai|mười|chạp))" + _WORDS_YEAR + _NB, _vi_month),
    _rule("#", r"\b(?P<cue>on\s+(?:the\s+)?)?" + _MN + r"\s+" + _DAY + _ORD + _EYEAR + _NB, _en_day),
    _rule("#", _B + r"(?P<cue>on\s+)?(?:the\s+)?" + _DAY + _ORD + r"\s+(?:of\s+)?" + _MN + _EYEAR + _NB, _en_day),
    _rule("jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec",
          r"\b(?P<cue>(?:in|during|of|throughout|for|since|until|till|before|after|from|by|through)\s+"
          r"(?:the\s+month\s+of\s+)?)?" + _MN + r"(?!\s+(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?\b)"
          r"(?:,?\s+" + _YEAR + r")?" + _NB, _en_month),
    _rule("#", r"(?<!việt\s)\b(?P<cue>năm|in|during|of|for|throughout|since|until|till|before|after|from|by|through)"
          r"\s+(?P<y>(?:19|20)\d\d|2100)" + _NB, _year),
    _rule("#|quý", r"\b(?:quý|q)\s*(?P<q>iv|iii|ii|i|[1-4])\b(?:\s*(?:/|năm|,)?\s*" + _YEAR + r")?" + _NB, _quarter),
    _rule("quarter", r"\b(?:(?:in|during)\s+)?(?:the\s+)?(?P<q>first|second|third|fourth|[1-4](?:st|nd|rd|th))"
          r"\s+quarter(?:\s+of)?(?:\s+" + _YEAR + r")?" + _NB, _quarter),
    _rule("nay", r"\b(?:(?:ngày\s+)?hôm\s+nay|(?:sáng|trưa|chiều|tối|đêm)\s+nay)\b", _days_back(0, today=True)),
    _rule("today|tonight|this", r"\b(?:today|tonight|this\s+(?:morning|afternoon|evening))(?:['’]s)?\b",
          _days_back(0, today=True)),
    _rule("qua|yesterday|night",
          r"\b(?:(?:ngày\s+)?hôm\s+qua|(?:sáng|trưa|chiều|tối|đêm)\s+qua|yesterday(?:['’]s)?|last\s+night)\b",
          _days_back(1)),
    _rule("kia|yesterday", r"\b(?:(?:ngày\s+)?hôm\s+kia|(?:the\s+)?day\s+before\s+yesterday)\b", _days_back(2)),
    _rule("tuần|tháng|năm", r"\b(?:(?:trong|vào)\s+)?(?P<unit>tuần|tháng|năm)\s+"
          r"(?P<rel>này|nay|vừa\s+qua|vừa\s+rồi|qua|trước|rồi|ngoái)\b", _vi_period),
    _rule("week|month|year",
          r"\b(?:(?:in|during|over)\s+)?(?:the\s+)?(?P<rel>this|last|past|previous)\s+(?P<unit>week|month|year)\b",
          _en_period),
    _rule("ngày|tuần|tháng|năm", r"\b(?:(?:trong|vào)\s+)?(?:vòng\s+)?(?P<n>" + _VI_N + r")\s+"
          r"(?P<unit>ngày|tuần|tháng|năm)\s+(?P<rel>vừa\s+qua|qua|gần\s+đây|gần\s+nhất|trở\s+lại\s+đây|trước|nay)\b",
          _n_units),
    _rule("last|past|previous", r"\b(?:(?:in|during|over|for|within)\s+)?(?:the\s+)?(?:last|past|previous)\s+"
          r"(?P<n>" + _EN_N + r")\s+(?P<unit>days?|weeks?|months?|years?)\b", _n_units),
    _rule("ago", r"\b(?P<n>" + _EN_N + r")\s+(?P<unit>days?|weeks?|months?|years?)\s+(?P<rel>ago)\b", _n_units),
    _rule("nay|giờ|now|far|date",
          r"\b(?:(?:cho\s+)?(?:đến|tới)\s+(?:nay|giờ|bây\s+giờ|hiện\s+nay|hiện\s+tại)|(?:until|till|up\s+to)\s+now"
          r"|so\s+far|to\s+date)\b", _until_now),
    # "ngày mai"/"tomorrow": a forecast, published today or lately, so recency rather than a day to come
    _rule("mới|gần|hiện|giờ|lúc|mai",
          r"\b(?:mới\s+nhất|gần\s+đây(?:\s+nhất)?|gần\s+nhất|mới\s+đây|hiện\s+nay|hiện\s+tại|hiện\s+giờ|bây\s+giờ|"
          r"lúc\s+này|ngày\s+mai)\b", _latest),
    _rule("latest|recent|newest|current|now|days|present|moment|tomorrow",
          r"\b(?:the\s+)?(?:latest|most\s+recent|newest|currently|current|recently|recent|right\s+now|now|"
          r"these\s+days|at\s+present|at\s+the\s+moment|tomorrow(?:['’]s)?)\b", _latest),
]  # fmt: skip


def _local_day(as_of: datetime) -> date:
    """The reference day in the archive's zone (a naive `as_of` is taken as already in it)."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        return as_of.date()
    try:
        return as_of.astimezone(ZONE).date()
    except OverflowError:  # datetime.min/max moved across midnight
        return as_of.date()


def _hits(text: str, today: date) -> list[_Hit]:
    """The time phrases of `text`, left to right, none overlapping (the earliest, then the longest, wins)."""
    c = _Ctx(text, today, 0 if is_vietnamese(text) else 1)
    found: list[_Hit] = []
    low = text.lower()
    digits = any(ch.isdigit() for ch in text)
    for rule in _RULES:
        if not any(digits if gate == "#" else gate in low for gate in rule.gates[c.flavour]):
            continue
        for m in rule.patterns[c.flavour].finditer(text):
            try:
                hit = rule.handler(m, c)
            except (ValueError, OverflowError, KeyError):  # 31/2, a year out of range, a word not in a table
                hit = None
            if hit is not None:
                found.append(hit)
    found.sort(key=lambda h: (h.start, h.start - h.end))
    kept: list[_Hit] = []
    for hit in found:
        if not kept or hit.start >= kept[-1].end:
            kept.append(_bounded(hit, text, kept[-1].end if kept else 0, c.flavour))
    return kept


def _bounded(hit: _Hit, text: str, floor: int, flavour: int) -> _Hit:
    """`hit` with the word before it that makes it a bound ("từ", "since", "đến", "before", "-"), if any."""
    if hit.role or hit.since is None and hit.until is None:
        return hit
    m = _BOUND[flavour].search(text, max(floor, hit.start - 16), hit.start)
    if m is None:
        return hit
    word = m.group("b") or m.group("dash")
    start = m.start("b") if m.group("b") else m.start("dash")
    return _Hit(start, hit.end, hit.since, hit.until, hit.latest, hit.today, _ROLES.get(_key(word), ""))


def _range(hits: list[_Hit]) -> tuple[date | None, date | None]:
    """One range from the hits: plain ones are joined (their hull); a bound ends it on its side ("from X to Y",
    "since X", "before Y"); "from"/"between" start a range only when an end ("to", "-", "and") follows."""
    starts: list[date] = []
    ends: list[date] = []
    open_ = False
    for i, hit in enumerate(hits):
        if hit.since is None and hit.until is None:
            continue
        role = hit.role
        if role == "pair":
            role = "until" if open_ else ""
        if role == "open":
            open_ = True
            first, last = hit.since or hit.until, hit.until or hit.since
            if first and last:
                starts.append(first)
                if not any(h.role in ("pair", "until") for h in hits[i + 1 :]):
                    ends.append(last)
            continue
        try:
            if role in ("", "since") and hit.since:
                starts.append(hit.since)
            if role in ("", "until") and hit.until:
                ends.append(hit.until)
            if role == "after" and hit.until:
                starts.append(hit.until + timedelta(days=1))
            if role == "before" and hit.since:
                ends.append(hit.since - timedelta(days=1))
        except OverflowError:
            continue
    since, until = min(starts, default=None), max(ends, default=None)
    if since and until and since > until:
        since, until = until, since
    return since, until


def parse_when(question: str, as_of: datetime) -> When | None:
    """The time `question` asks about, relative to `as_of` (timezone-aware; its day is taken in +07:00), or None
    when the question names no time. Never raises."""
    text = unicodedata.normalize("NFC", question) if isinstance(question, str) else ""
    hits = _hits(text, _local_day(as_of))
    if not hits:
        return None
    since, until = _range(hits)
    today = _local_day(as_of)
    return When(
        since=since,
        until=until,
        latest=any(h.latest for h in hits),
        today=any(h.today for h in hits) and since == until == today,
        text=_JOIN.join(text[h.start : h.end] for h in hits),
    )


def strip_when(question: str, when: When) -> str:
    """The question without its date words (for topic search), whitespace tidied."""
    text = unicodedata.normalize("NFC", question)
    for piece in when.text.split(_JOIN) if when.text else ():
        text = re.sub(re.escape(piece), " ", text, count=1, flags=re.IGNORECASE)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([,.?!;:…])", r"\1", text)
    text = re.sub(r"[,;:]+([?.!])", r"\1", text)
    text = re.sub(r"([,;:])[,;:]+", r"\1", text)
    return text.strip(" ,;:-–")
