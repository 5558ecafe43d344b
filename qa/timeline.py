"""Time in retrieval: the publication window a question's dates allow, and the newest on-topic passages first."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone

from kbqa.errors import InputError
from kbqa.index.records import Passage
from kbqa.qa.when import When, parse_when, strip_when

_DMY = re.compile(r"(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})")
ZONE = timezone(timedelta(hours=7))  # the archive's zone: Vietnamese outlets publish in +07:00
TOLERANCE = timedelta(days=1)  # an article about a day is often published the night before or the morning after
ON_TOPIC = 0.6  # a passage whose fused score is at least this share of the best one's is on the question's topic


@dataclass(frozen=True)
class Period:
    """What the asker set about time beside the question's own words: the reference time its "today" means
    (`as_of`, default now) and a window of days (`since`, `until`, either open), which replaces any the question
    names."""

    as_of: datetime | None = None
    since: date | None = None
    until: date | None = None


NOW = Period()  # no window; "today" is the day of asking


def period_of(as_of: str | None = None, since: str | None = None, until: str | None = None) -> Period:
    """A Period from what a user typed (`--as-of`, `--since`, `--until`): days as 2026-05-12 or 12/5/2026, the
    reference time also as an ISO 8601 time (no offset: +07:00). Raises InputError (one line) otherwise."""
    start, end = _day(since, "since"), _day(until, "until")
    if start and end and start > end:
        raise InputError(f"--since {since} is after --until {until}")
    return Period(_moment(as_of), start, end)


def _day(text: str | None, name: str) -> date | None:
    if not text or not text.strip():
        return None
    text = text.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    match = _DMY.fullmatch(text)
    if match:
        try:
            return date(int(match["y"]), int(match["m"]), int(match["d"]))
        except ValueError:
            pass
    raise InputError(f"--{name} must be a day like 2026-05-12 or 12/5/2026, not {text!r}")


def _moment(text: str | None) -> datetime | None:
    if not text or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        day = _day(text, "as-of")
        assert day is not None
        moment = datetime.combine(day, time(12), ZONE)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZONE)


def query_of(question: str, when: When | None) -> str:
    """What to search for: the question without the words that said when (the date filter or the order does their
    work; left in, "hôm nay" matched every "hôm qua" of older articles), or the question itself if nothing is left."""
    if when is None or not when.text:
        return question
    return strip_when(question, when) or question


def when_of(question: str, period: Period) -> When | None:
    """The time `question` asks about: its own words read against the period's reference time, the period's window
    (when it has one) in place of the words' dates."""
    when = parse_when(question, period.as_of or datetime.now(ZONE))
    if period.since is None and period.until is None:
        return when
    return replace(when or When(), since=period.since, until=period.until, today=False)


def window(when: When) -> tuple[str | None, str | None]:
    """The publication times (ISO 8601, +07:00) that `when`'s days allow, a day of tolerance each side; with
    "today" or recency intent only the end counts (the newest up to that day answers)."""
    since = None if when.today or when.since is None else _start(when.since - TOLERANCE)
    until = None if when.until is None else _end(when.until + TOLERANCE)
    return since, until


def is_dated(when: When | None) -> bool:
    """Whether `when` limits the search to a window of days."""
    return when is not None and (when.since is not None or when.until is not None)


def is_recent(when: When | None) -> bool:
    """Whether `when` asks for the newest on-topic articles first ("mới nhất", "latest", "hôm nay")."""
    return when is not None and (when.latest or when.today)


def newest_first(passages: list[Passage]) -> list[Passage]:
    """For a "latest" question: the passages on the topic (fused score at least ON_TOPIC of the best) from the newest
    day that has any, best first; the answer is the newest or none (an older one would answer a question not asked).
    Unchanged when no passage on the topic has a date."""
    if not passages:
        return passages
    top = max(p.score for p in passages)
    on_topic = [p for p in passages if p.score >= ON_TOPIC * top] if top > 0 else passages
    days = {id(p): moment.astimezone(ZONE).date() for p in on_topic if (moment := published(p)) is not None}
    if not days:
        return passages
    newest = max(days.values())
    return [p for p in on_topic if days.get(id(p)) == newest]


def published(passage: Passage) -> datetime | None:
    """The passage's publication time, or None when its document has none."""
    if not passage.published:
        return None
    try:
        moment = datetime.fromisoformat(passage.published)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZONE)


def _start(day: date) -> str:
    return datetime.combine(day, time.min, ZONE).isoformat()


def _end(day: date) -> str:
    return datetime.combine(day, time(23, 59, 59), ZONE).isoformat()
