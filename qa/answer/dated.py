"""When an answer's article was published, said in the question's language; and what the archive covers."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit

from kbqa.index.records import Passage
from kbqa.qa.answer.records import Answer, language, not_found
from kbqa.qa.contracts import Retrieval
from kbqa.qa.timeline import ZONE, is_dated, is_recent, published, window

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
LEAD = {
    "vi": ("Theo {outlet} ngày {day}:", "Mới nhất, theo {outlet} ngày {day}:"),
    "en": ("According to {outlet} on {day}:", "The newest, according to {outlet} on {day}:"),
}
ARTICLE = {"vi": "bài", "en": "the article"}  # a file's outlet is unknown; its title is in the Sources list
ARCHIVE = {
    "vi": "Kho bài có từ {first} đến {last}.",
    "en": "The archive runs from {first} to {last}.",
}
OTHER_TIME = {
    "vi": "Không có bài nào về chủ đề này vào thời gian được hỏi; câu trả lời từ bài đăng ngày khác.",
    "en": "No article on this topic is from the time asked about; the answer is from an article of another day.",
}
NONE_DATED = {"vi": "Kho bài không có bài nào ghi ngày đăng.", "en": "No article in the archive has a date."}


def day_text(moment: datetime, lang: str) -> str:
    """A day as its readers write it: 22/8/2026, or 22 August 2026."""
    moment = moment.astimezone(ZONE)
    if lang == "vi":
        return f"{moment.day}/{moment.month}/{moment.year}"
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def outlet(passage: Passage, lang: str = "en") -> str:
    """Who published the passage: a web source's site, else "the article" (the Sources list names it)."""
    host = urlsplit(passage.source).hostname if "://" in passage.source else None
    return host.removeprefix("www.") if host else ARTICLE[lang]


def dated(answer: Answer, retrieval: Retrieval) -> Answer:
    """`answer` to the question as asked (the retrieval may have searched it without its date words) led by when its
    first cited article was published ("Theo … ngày 22/8/2026:"), and for a "latest" question that it is the newest;
    unchanged when not found or the article has no date. A question whose dates the archive does not cover gets
    "not found" with the archive's range."""
    question = retrieval.asked
    lang = language(question)
    if retrieval.archive is not None and not retrieval.passages:
        return replace(outside(question, retrieval.archive), when=retrieval.when)
    answer = replace(answer, question=question, when=retrieval.when)
    if not answer.found or not answer.citations:
        return answer
    moment = published(answer.citations[0].passage)
    if moment is None:
        return answer
    template = LEAD[lang][1 if is_recent(retrieval.when) else 0]
    lead = template.format(outlet=outlet(answer.citations[0].passage, lang), day=day_text(moment, lang))
    answer = replace(answer, answer=f"{lead} {answer.answer}", lead=lead)
    if retrieval.when is not None and is_dated(retrieval.when) and not is_recent(retrieval.when):
        since, until = (datetime.fromisoformat(t) if t else None for t in window(retrieval.when))
        if (since and moment < since) or (until and moment > until):  # the window held nothing on the topic
            answer = replace(answer, note=f"{OTHER_TIME[lang]} {answer.note}".strip())
    return answer


def outside(question: str, archive: tuple[str | None, str | None]) -> Answer:
    """Not found, and the first and last day the archive holds."""
    lang = language(question)
    first, last = (datetime.fromisoformat(t) if t else None for t in archive)
    if first is None or last is None:
        return not_found(question, [], 0.0, note=NONE_DATED[lang], archive=True)
    note = ARCHIVE[lang].format(first=day_text(first, lang), last=day_text(last, lang))
    return not_found(question, [], 0.0, note=note, archive=True)
