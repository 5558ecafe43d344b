"""A document's publication time, normalised: from its format's metadata, a dateline near its top, or its name."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

log = logging.getLogger(__name__)

# Times without a zone are Vietnamese (the archive's outlets; no daylight saving since 1975), and every time is
# expressed in it: one zone for the whole archive, so that calendar days compare and both store engines (PostgreSQL
# keeps instants, not offsets) give back the same string
VIETNAM = timezone(timedelta(hours=7), "+07:00")
EARLIEST = datetime(1990, 1, 1, tzinfo=VIETNAM)  # older dates are the events an article recalls, not its own
FUTURE_SLACK = timedelta(days=2)  # later than now + this: a date the article announces, never its own
TOP_LINES = 8  # a dateline counts among the text's first lines only
TOP_CHARS = 400  # "ngày 25/4/2023" counts this near the top only (later, it is a date the article talks about)
MAX_DATELINE_CHARS = 80
HTML_FORMAT = "%Y-%m-%dT%H:%M:%S%z"

# Hand-written patterns, for what no kept library finds: Vietnamese outlets' datelines ("19:57 | 09/12/2023",
# "Thứ tư, 6/8/2025, 00:00 (GMT+7)") and "ngày 25/4/2023" in a lede, day first. dateparser reads a dateline once
# found, but its search_dates takes every number-like token of a text for a date; htmldate reads HTML only.
_DMY = r"(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})"
_HM = r"(?P<H>\d{1,2})[:h](?P<M>\d{2})"
_GMT = r"(?:\s*\(?\s*(?:GMT|UTC)\s*(?P<tz>[+-]\d{1,2})(?::?00)?\s*\)?)?"
_SEP = r"\s*[|,\-–]?\s*"
_LABEL = r"[^\d\n]{0,30}?"  # "Thứ tư, ", "Chủ nhật, ", "Cập nhật: ", "Published "
TIME_FIRST = re.compile(rf"^{_LABEL}{_HM}{_SEP}{_LABEL}{_DMY}{_GMT}\s*$")
DATE_FIRST = re.compile(rf"^{_LABEL}{_DMY}(?:{_SEP}{_HM})?{_GMT}\s*$")
NGAY = re.compile(
    r"\bngày\s+(?P<d>\d{1,2})(?:[/.-](?P<m>\d{1,2})[/.-]|\s+tháng\s+(?P<m2>\d{1,2})\s*(?:năm|,|/)\s*)(?P<y>\d{4})\b",
    re.IGNORECASE,
)
# Vietnamese CMSs' article ids (Tuổi Trẻ, Thanh Niên, Dân Trí): "…-20250912212239608.htm" starts with the
# publication time, yyyymmddHHMMSS; htmldate's URL rules do not know them
CMS_ID = re.compile(
    r"[-_/](?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})\d{0,5}(?=\.\w+$|[/?#]|$)"
)
_DATEPARSER_SETTINGS = {
    "DATE_ORDER": "DMY",
    "PREFER_DAY_OF_MONTH": "first",
    "REQUIRE_PARTS": ["day", "month", "year"],
}

Found = tuple[datetime, bool]  # (the time, in VIETNAM; whether it has a time of day, not just a date)


def _aware(value: datetime) -> datetime:
    return (value.replace(tzinfo=VIETNAM) if value.tzinfo is None else value).astimezone(VIETNAM)


def _plausible(value: datetime, now: datetime | None = None) -> bool:
    """Not before 1990, not after now + 2 days."""
    return EARLIEST <= value <= (now or datetime.now(VIETNAM)) + FUTURE_SLACK


def iso(value: datetime) -> str:
    """`value` as the ISO 8601 string a document's `published` holds: seconds, in Vietnamese time, with its offset
    (`2025-08-07T22:00:00+07:00`)."""
    return _aware(value).replace(microsecond=0).isoformat()


def instant(value: str) -> datetime:
    """An ISO 8601 string (a date alone is its midnight; without an offset, Vietnamese time) as an aware datetime;
    ValueError when it is not one."""
    return _aware(datetime.fromisoformat(value.strip()))


def _parse(value: str) -> Found | None:
    """A metadata date string (ISO 8601 first, then whatever dateparser reads, day first) or None."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        import dateparser

        parsed = dateparser.parse(value, languages=["vi", "en"], settings=_DATEPARSER_SETTINGS)
        if parsed is None:
            return None
        has_time = bool(re.search(r"\d{1,2}[:h]\d{2}", value))
    else:
        has_time = bool(re.search(r"[T ]\d{1,2}:\d{2}", value))
    return _aware(parsed), has_time


def _made(
    y: str, m: str, d: str, hour: str | None = None, minute: str | None = None, second: str | None = None,
    tz: str | None = None,
) -> Found | None:  # fmt: skip
    """The time of a pattern's groups (day first, as Vietnamese writes it), or None when they are no date."""
    try:
        zone = timezone(timedelta(hours=int(tz))) if tz else VIETNAM
        value = datetime(int(y), int(m), int(d), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=zone)
    except ValueError:
        return None
    return value.astimezone(VIETNAM), hour is not None


def _dateline(line: str) -> Found | None:
    if len(line) > MAX_DATELINE_CHARS:
        return None
    match = TIME_FIRST.match(line) or DATE_FIRST.match(line)
    if match is None:
        return None
    g = match.groupdict()
    return _made(g["y"], g["m"], g["d"], g.get("H"), g.get("M"), None, g.get("tz"))


def _from_text(text: str, title: str) -> Iterator[Found]:
    """A dateline among the first lines, then "ngày d/m/yyyy" near the top of the body (the title's dates are what
    the article is about, not when it was published)."""
    text = unicodedata.normalize("NFC", text[: TOP_CHARS * 4])
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    title = " ".join(title.split())
    lines = [line for line in lines if " ".join(line.lstrip("# ").split()) != title]
    for line in lines[:TOP_LINES]:
        found = _dateline(line)
        if found is not None:
            yield found
    match = NGAY.search("\n".join(lines)[:TOP_CHARS])
    if match is not None:
        found = _made(match["y"], match["m"] or match["m2"], match["d"])
        if found is not None:
            yield found


def _from_html(html: str) -> Found | None:
    """The page's own publication time from its markup (article:published_time, schema.org datePublished, <time
    datetime>, …) as htmldate reads it, without guessing from the text."""
    import htmldate

    logging.getLogger("htmldate").setLevel(logging.CRITICAL)
    now = datetime.now(VIETNAM)
    try:
        found = htmldate.find_date(
            html,
            extensive_search=False,
            original_date=True,
            outputformat=HTML_FORMAT,
            min_date=EARLIEST.replace(tzinfo=None),
            max_date=(now + FUTURE_SLACK).replace(tzinfo=None),
        )
    except Exception as exc:  # noqa: BLE001 - a parser failure leaves the date unknown, never the file unread
        log.debug("htmldate failed: %s", exc)
        return None
    parsed = _parse(found) if found else None
    if parsed is None:
        return None
    value = parsed[0]  # the format always has a time: midnight is what a date alone gives
    return value, (value.hour, value.minute, value.second) != (0, 0, 0)


def _from_source(source: str) -> Iterator[Found]:
    """A CMS id with the publication time in a URL or file name, then a date htmldate's URL rules find
    (`/2025/09/12/`, `2025-09-12-…`)."""
    match = CMS_ID.search(source)
    if match is not None:
        found = _made(match["y"], match["m"], match["d"], match["H"], match["M"], match["S"])
        if found is not None:
            yield found
    if re.search(r"(?:19|20)\d{2}", source):
        import htmldate

        logging.getLogger("htmldate").setLevel(logging.CRITICAL)
        try:
            found = htmldate.find_date("<html><body></body></html>", url=source, extensive_search=False)
        except Exception as exc:  # noqa: BLE001 - as in _from_html
            log.debug("htmldate failed on %s: %s", source, exc)
            found = None
        parsed = _parse(found) if found else None
        if parsed is not None:
            yield parsed


def _candidates(meta_date: str, text: str, title: str, source: str, html: str | None) -> Iterator[Found]:
    if html:
        found = _from_html(html)
        if found is not None:
            yield found
    found = _parse(meta_date)
    if found is not None:
        yield found
    yield from _from_text(text, title)
    yield from _from_source(source)


def published_time(*, meta_date: str, text: str, title: str, source: str, html: str | None = None) -> str | None:
    """When a document was published, as an ISO 8601 string in Vietnamese time with its offset
    (`2025-08-07T22:00:00+07:00`; a date alone is its midnight), or None when unknown (never the file's time).

    Sources, first found wins: the page's markup (`html`), the format's metadata date (`meta_date`: HTML, Markdown
    front matter, DOCX), a dateline at the top of `text`, a date in `source` (URL or file name). A winner without
    a time of day takes the time of a later source of the same day. Times without a zone are +07:00; dates before
    1990 or after now + 2 days are skipped."""
    now = datetime.now(VIETNAM)
    best: Found | None = None
    for value, has_time in _candidates(meta_date, text, title, source, html):
        if not _plausible(value, now):
            continue
        if best is None:
            best = (value, has_time)
            if has_time:
                break
        elif has_time and value.date() == best[0].date():
            best = (value, has_time)
            break
    return iso(best[0]) if best else None
